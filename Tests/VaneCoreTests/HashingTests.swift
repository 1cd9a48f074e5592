import Testing
@testable import VaneCore

/// Expected values come from Python: statsig.utils.sha256_hash / djb2_hash and
/// base64.b64encode(hashlib.sha256(s.encode()).digest()).
@Suite("StatsigHash")
struct HashingTests {
    @Test func unitHashIsTheFirstEightBytesBigEndian() {
        // int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "big")
        #expect(StatsigHash.unitHash("") == 16_406_829_232_824_261_652)
        #expect(StatsigHash.unitHash("a") == 14_598_278_634_844_962_250)
        #expect(StatsigHash.unitHash("user-1") == 14_322_161_379_998_172_594)
        #expect(StatsigHash.unitHash("gate-salt-1.rule_half.user-1") == 11_545_943_880_897_819_117)
        #expect(StatsigHash.unitHash("héllo") == 4_343_819_824_053_979_717)
        #expect(StatsigHash.unitHash("😀") == 17_313_026_863_276_160_327)
    }

    @Test func unitHashOfSubstrings() {
        // Strings that are slices of larger ones hash their own bytes only.
        let s = "xxuser-1yy"
        let sub = String(s.dropFirst(2).dropLast(2))
        #expect(StatsigHash.unitHash(sub) == 14_322_161_379_998_172_594)
    }

    @Test func idListEntryIsBase64OfSHA256Cut() {
        // base64(sha256(id))[:8]
        #expect(StatsigHash.idListEntry("vip1") == "05fW3Uwd")
        #expect(StatsigHash.idListEntry("vip2") == "vkMDwWYC")
        #expect(StatsigHash.idListEntry("None") == "3JN7WYkm")
        #expect(StatsigHash.idListEntry("") == "47DEQpj8")
        #expect(StatsigHash.idListEntry("héllo") == "PEhZHY0J")
        #expect(StatsigHash.idListEntry("😀") == "8EQ6NCxe")
        #expect(StatsigHash.idListEntry("1") == "a4ayc/80")
    }

    @Test func sha256Forms() {
        #expect(StatsigHash.sha256Base64("vip1") == "05fW3Uwd+FnG9VMABt1WE1fZXNQ2BxURDo3yY0FvxGc=")
        #expect(StatsigHash.sha256Base64("") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        #expect(StatsigHash.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func djb2MatchesTheSDKForBMPText() {
        // statsig.utils.djb2_hash
        #expect(StatsigHash.djb2("rollout_50") == "4203823081")
        #expect(StatsigHash.djb2("exp_two_groups") == "2280222345")
        #expect(StatsigHash.djb2("") == "0")
        #expect(StatsigHash.djb2("a") == "97")
        #expect(StatsigHash.djb2("héllo") == "103094734")
    }

    @Test func djb2CountsUTF16UnitsAsJavaScriptDoes() {
        // JS clients hash with charCodeAt: U+1F600 is 0xD83D, 0xDE00, so 0xD83D * 31 + 0xDE00 = 1772899.
        // (The Python SDK hashes code points and would say 128512; clients look names up with the JS value.)
        #expect(StatsigHash.djb2("😀") == "1772899")
    }

    @Test func base64RFC4648Vectors() {
        let vectors: [(String, String)] = [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ]
        for (plain, encoded) in vectors {
            #expect(StatsigHash.base64(Array(plain.utf8)) == encoded)
            #expect(StatsigHash.base64Decode(encoded) == Array(plain.utf8))
        }
        #expect(StatsigHash.base64([0, 255, 254, 253]) == "AP/+/Q==")
    }

    @Test func base64DecodeAcceptsURLSafeAndWhitespace() {
        #expect(StatsigHash.base64Decode("AP_-_Q==") == [0, 255, 254, 253])
        #expect(StatsigHash.base64Decode("AP/+\n/Q==") == [0, 255, 254, 253])
        #expect(StatsigHash.base64Decode("Zm9v!") == nil)
        let bytes = (0..<256).map { UInt8($0) }
        #expect(StatsigHash.base64Decode(StatsigHash.base64(bytes)) == bytes)
    }

    @Test func randomTokens() {
        let a = StatsigHash.randomToken()
        let b = StatsigHash.randomToken(length: 48)
        #expect(a.count == 32)
        #expect(b.count == 48)
        #expect(a != StatsigHash.randomToken())
        let alphanumeric = a.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        #expect(alphanumeric)
    }

    @Test func nameHashing() {
        #expect(NameHashing.none.hash("rollout_50") == "rollout_50")
        #expect(NameHashing.djb2.hash("rollout_50") == "4203823081")
        #expect(NameHashing.sha256.hash("vip1") == "05fW3Uwd+FnG9VMABt1WE1fZXNQ2BxURDo3yY0FvxGc=")
    }
}
