import Testing
@testable import VaneCore

/// Each condition type, with the value it reads. Hash values in comments were computed with the
/// SDK's own hash (statsig.utils.sha256_hash: first 8 bytes of SHA-256, big-endian).
@Suite("Condition types")
struct ConditionTests {
    let u1 = StatsigUser(userID: "u1")

    @Test func publicAlwaysPasses() {
        #expect(Build.passes(Condition.public, u1))
        #expect(Build.passes(Condition.public, StatsigUser(customIDs: ["stableID": "s"])))
    }

    @Test func conditionTypesAreCaseInsensitive() {
        // The SDK upper-cases the type before comparing it.
        #expect(Build.passes(Build.condition("PUBLIC"), u1))
        #expect(Build.passes(Build.condition("User_Field", "any", ["pro"], field: "plan"),
                             StatsigUser(userID: "u1", custom: ["plan": "pro"])))
    }

    // MARK: user_bucket

    @Test func userBucketLt() {
        // hash("ub.u1") % 1000 == 286.
        #expect(Build.passes(Build.condition("user_bucket", "lt", 287, salt: "ub"), u1))
        #expect(!Build.passes(Build.condition("user_bucket", "lt", 286, salt: "ub"), u1))
        #expect(Build.passes(Build.condition("user_bucket", "eq", 286, salt: "ub"), u1))
    }

    @Test func userBucketAnyAndNone() {
        // hash("ub.u1") % 1000 == 286: membership is on integers, and string targets are int()-ed.
        #expect(Build.passes(Build.condition("user_bucket", "any", [1, 286, 999], salt: "ub"), u1))
        #expect(Build.passes(Build.condition("user_bucket", "any", ["286"], salt: "ub"), u1))
        #expect(!Build.passes(Build.condition("user_bucket", "any", [285, 287], salt: "ub"), u1))
        #expect(!Build.passes(Build.condition("user_bucket", "none", [286], salt: "ub"), u1))
        #expect(Build.passes(Build.condition("user_bucket", "none", [0, 1], salt: "ub"), u1))
    }

    @Test func userBucketUsesTheConditionIdType() {
        // hash("ub.s1") % 1000 == 514; a missing unit hashes as "": hash("ub.") % 1000 == 680.
        let stable = StatsigUser(userID: "u1", customIDs: ["stableID": "s1"])
        #expect(Build.passes(Build.condition("user_bucket", "eq", 514, idType: "stableID", salt: "ub"), stable))
        #expect(Build.passes(Build.condition("user_bucket", "eq", 680, idType: "stableID", salt: "ub"), u1))
        #expect(Build.passes(Build.condition("user_bucket", "eq", 680, salt: "ub"), StatsigUser(customIDs: ["stableID": "s1"])))
    }

    @Test func userBucketWithoutSaltHashesTheEmptySalt() {
        // No additionalValues.salt: the SDK hashes "" + "." + unit; hash(".u1") % 1000 == 687.
        #expect(Build.passes(Build.condition("user_bucket", "eq", 687), u1))
        #expect(!Build.passes(Build.condition("user_bucket", "eq", 286), u1))
    }

    // MARK: unit_id

    @Test func unitIdReadsCustomIDsExactThenLowerCased() {
        let c = Build.condition("unit_id", "any", ["c1"], idType: "companyID")
        #expect(Build.passes(c, StatsigUser(userID: "u1", customIDs: ["companyID": "c1"])))
        #expect(Build.passes(c, StatsigUser(userID: "u1", customIDs: ["companyid": "c1"])))
        // The exact name wins over the lower-cased one.
        #expect(!Build.passes(c, StatsigUser(userID: "u1", customIDs: ["companyID": "c9", "companyid": "c1"])))
        // Only the condition's name and its lower-case form are tried.
        #expect(!Build.passes(c, StatsigUser(userID: "u1", customIDs: ["CompanyID": "c1"])))
        #expect(!Build.passes(c, u1))
    }

    @Test func unitIdForUserIDIsCaseInsensitive() {
        #expect(Build.passes(Build.condition("unit_id", "any", ["u1"], idType: "userID"), u1))
        #expect(Build.passes(Build.condition("unit_id", "any", ["u1"], idType: "USERID"), u1))
        #expect(Build.passes(Build.condition("unit_id", "any", ["u1"], idType: "userid"), u1))
        // With no userID the value is None: `none` holds, `any` does not.
        let noID = StatsigUser(customIDs: ["stableID": "s"])
        #expect(!Build.passes(Build.condition("unit_id", "any", ["None"]), noID))
        #expect(Build.passes(Build.condition("unit_id", "none", ["s"]), noID))
    }

    // MARK: ID lists

    @Test func inSegmentListUsesHashedEntries() {
        // ID-list files hold base64(sha256(id))[:8]; Python: "vip1" -> "05fW3Uwd".
        #expect(StatsigHash.idListEntry("vip1") == "05fW3Uwd")
        let lists: [String: Set<String>] = ["vip_list": [StatsigHash.idListEntry("vip1"), StatsigHash.idListEntry("vip2")]]
        let inList = Build.condition("unit_id", "in_segment_list", "vip_list")
        let notInList = Build.condition("unit_id", "not_in_segment_list", "vip_list")
        #expect(Build.passes(inList, StatsigUser(userID: "vip1"), idLists: lists))
        #expect(Build.passes(inList, StatsigUser(userID: "vip2"), idLists: lists))
        #expect(!Build.passes(inList, u1, idLists: lists))
        #expect(!Build.passes(notInList, StatsigUser(userID: "vip1"), idLists: lists))
        #expect(Build.passes(notInList, u1, idLists: lists))
    }

    @Test func unknownIdListContainsNobody() {
        let lists: [String: Set<String>] = ["vip_list": [StatsigHash.idListEntry("u1")]]
        #expect(!Build.passes(Build.condition("unit_id", "in_segment_list", "other_list"), u1, idLists: lists))
        #expect(Build.passes(Build.condition("unit_id", "not_in_segment_list", "other_list"), u1, idLists: lists))
    }

    @Test func idListsWorkOnAnyFieldAndHashStrOfTheValue() {
        // The SDK hashes str(value): a missing email is str(None) == "None"; an int 42 is "42".
        let lists: [String: Set<String>] = [
            "emails": [StatsigHash.idListEntry("a@example.com"), StatsigHash.idListEntry("None")],
            "numbers": [StatsigHash.idListEntry("42")],
        ]
        #expect(Build.passes(Build.field("email", "in_segment_list", "emails"),
                             StatsigUser(userID: "u1", email: "a@example.com"), idLists: lists))
        #expect(Build.passes(Build.field("email", "in_segment_list", "emails"), u1, idLists: lists))
        #expect(!Build.passes(Build.field("email", "in_segment_list", "emails"),
                              StatsigUser(userID: "u1", email: "b@example.com"), idLists: lists))
        #expect(Build.passes(Build.field("n", "in_segment_list", "numbers"),
                             StatsigUser(userID: "u1", custom: ["n": 42]), idLists: lists))
        let customIDList = Build.condition("unit_id", "in_segment_list", "numbers", idType: "companyID")
        #expect(Build.passes(customIDList, StatsigUser(userID: "u1", customIDs: ["companyID": "42"]), idLists: lists))
    }

    // MARK: environment_field

    @Test func environmentTier() {
        let staging = StatsigUser(userID: "u1", statsigEnvironment: ["tier": "staging"])
        let c = Build.condition("environment_field", "any", ["staging"], field: "tier")
        #expect(Build.passes(c, staging))
        #expect(!Build.passes(c, u1))
        // No tier on the user: the rule set's default environment stands in (DCS default_environment).
        #expect(Build.passes(c, u1, defaultEnvironment: "staging"))
        // The user's own tier wins over the default.
        #expect(Build.passes(c, staging, defaultEnvironment: "production"))
        #expect(!Build.passes(Build.condition("environment_field", "any", ["production"], field: "tier"), staging,
                              defaultEnvironment: "production"))
        // Matching uses `any`, so it is casefolded.
        #expect(Build.passes(c, StatsigUser(userID: "u1", statsigEnvironment: ["tier": "Staging"])))
    }

    @Test func environmentFieldMissingIsNone() {
        let c = Build.condition("environment_field", "none", ["production"], field: "tier")
        #expect(Build.passes(c, u1))
        #expect(!Build.passes(c, u1, defaultEnvironment: "production"))
    }

    // MARK: user_field lookups

    @Test func knownFieldsAreCaseInsensitiveWithAliases() {
        let user = StatsigUser(
            userID: "u1", email: "a@example.com", ip: "10.0.0.1", userAgent: "ua", country: "US", locale: "en_US",
            appVersion: "1.2.3")
        for (field, value) in [
            ("userID", "u1"), ("USERID", "u1"), ("user_id", "u1"), ("email", "a@example.com"), ("EMAIL", "a@example.com"),
            ("ip", "10.0.0.1"), ("ipAddress", "10.0.0.1"), ("ip_address", "10.0.0.1"), ("userAgent", "ua"),
            ("user_agent", "ua"), ("country", "US"), ("locale", "en_US"), ("appVersion", "1.2.3"),
            ("app_version", "1.2.3"),
        ] {
            #expect(Build.passes(Build.field(field, "eq", .string(value)), user), "\(field)")
        }
    }

    @Test func customFieldsExactThenCasefolded() {
        // The SDK reads custom[field], then custom[field.casefold()].
        let user = StatsigUser(userID: "u1", custom: ["plan": "pro", "Tier": "gold"])
        #expect(Build.passes(Build.field("plan", "eq", "pro"), user))
        #expect(Build.passes(Build.field("PLAN", "eq", "pro"), user))
        #expect(Build.passes(Build.field("Tier", "eq", "gold"), user))
        // "tier".casefold() is "tier", and custom has only "Tier".
        #expect(!Build.passes(Build.field("tier", "eq", "gold"), user))
    }

    @Test func customNullDoesNotFallBackToTheCasefoldedKey() {
        // custom["Plan"] exists (None), so the SDK does not look at custom["plan"]; privateAttributes is next.
        let user = StatsigUser(userID: "u1", custom: ["Plan": .null, "plan": "pro"])
        #expect(!Build.passes(Build.field("Plan", "any", ["pro"]), user))
        #expect(Build.passes(Build.field("Plan", "eq", .null), user))
        var withPrivate = user
        withPrivate.privateAttributes = ["Plan": "gold"]
        #expect(Build.passes(Build.field("Plan", "eq", "gold"), withPrivate))
    }

    @Test func emptyOrMissingKnownFieldFallsBackToCustomThenPrivate() {
        // user.email "" or None: custom["email"] is read next, then privateAttributes.
        let empty = StatsigUser(userID: "u1", email: "", custom: ["email": "c@example.com"])
        #expect(Build.passes(Build.field("email", "eq", "c@example.com"), empty))
        let missing = StatsigUser(userID: "u1", custom: ["email": "c@example.com"])
        #expect(Build.passes(Build.field("email", "eq", "c@example.com"), missing))
        let priv = StatsigUser(userID: "u1", email: "", privateAttributes: ["email": "p@example.com"])
        #expect(Build.passes(Build.field("email", "eq", "p@example.com"), priv))
        // A non-empty field wins over custom.
        let set = StatsigUser(userID: "u1", email: "a@example.com", custom: ["email": "c@example.com"])
        #expect(Build.passes(Build.field("email", "eq", "a@example.com"), set))
        // Nothing anywhere: the "" of the field itself.
        #expect(Build.passes(Build.field("email", "eq", ""), StatsigUser(userID: "u1", email: "")))
        #expect(Build.passes(Build.field("email", "eq", .null), u1))
    }

    @Test func privateAttributesExactThenLowerCased() {
        let user = StatsigUser(userID: "u1", privateAttributes: ["secret": "s3cret"])
        #expect(Build.passes(Build.field("secret", "eq", "s3cret"), user))
        #expect(Build.passes(Build.field("Secret", "eq", "s3cret"), user))
        // custom wins when it has a non-empty value; an empty one falls through to privateAttributes.
        let both = StatsigUser(userID: "u1", custom: ["secret": "public"], privateAttributes: ["secret": "s3cret"])
        #expect(Build.passes(Build.field("secret", "eq", "public"), both))
        let emptyCustom = StatsigUser(userID: "u1", custom: ["secret": ""], privateAttributes: ["secret": "s3cret"])
        #expect(Build.passes(Build.field("secret", "eq", "s3cret"), emptyCustom))
    }

    @Test func customValuesKeepTheirJSONType() {
        // Operators see ints, floats, bools and lists as such, not as strings.
        let user = StatsigUser(userID: "u1", custom: ["n": 5, "f": 1.0, "b": true, "l": ["a", 1]])
        #expect(Build.passes(Build.field("n", "eq", 5), user))
        #expect(!Build.passes(Build.field("n", "eq", "5"), user))
        #expect(Build.passes(Build.field("f", "any", ["1.0"]), user))
        #expect(Build.passes(Build.field("b", "any_case_sensitive", ["True"]), user))
        #expect(Build.passes(Build.field("l", "array_contains_all", ["a", 1]), user))
    }

    // MARK: current_time

    @Test func currentTimeUsesThePinnedClock() {
        // now = 1_700_000_000_000 ms = 2023-11-14T22:13:20Z; 13 characters, so read as ms.
        let clock: @Sendable () -> Int64 = { 1_700_000_000_000 }
        #expect(Build.passes(Build.condition("current_time", "after", 1_699_999_999), u1, clock: clock))
        #expect(!Build.passes(Build.condition("current_time", "after", 1_700_000_000), u1, clock: clock))
        #expect(Build.passes(Build.condition("current_time", "before", 1_700_000_001_000), u1, clock: clock))
        #expect(!Build.passes(Build.condition("current_time", "before", 1_700_000_000_999), u1, clock: clock))
        #expect(Build.passes(Build.condition("current_time", "on", 1_699_920_000), u1, clock: clock))
        #expect(!Build.passes(Build.condition("current_time", "on", 1_700_006_400), u1, clock: clock))
        #expect(Build.passes(Build.condition("current_time", "gt", 1_699_999_999_999), u1, clock: clock))
    }

    // MARK: ip_based, ua_based, target_app

    @Test func ipBasedReadsTheUserField() {
        let c = Build.condition("ip_based", "any", ["US", "DE"], field: "country")
        #expect(Build.passes(c, StatsigUser(userID: "u1", country: "US")))
        #expect(Build.passes(c, StatsigUser(userID: "u1", country: "de")))
        #expect(!Build.passes(c, StatsigUser(userID: "u1", country: "FR")))
    }

    @Test func ipBasedWithNoValueIsFalseWhateverTheOperator() {
        // The SDK returns False before looking at the operator when the value is None.
        #expect(!Build.passes(Build.condition("ip_based", "none", ["US"], field: "country"), u1))
        #expect(!Build.passes(Build.condition("ip_based", "eq", .null, field: "country"), u1))
        // Vane ships no IP-to-country table (docs/evaluation.md): an IP alone gives no country.
        #expect(!Build.passes(Build.condition("ip_based", "none", ["US"], field: "country"),
                              StatsigUser(userID: "u1", ip: "8.8.8.8")))
    }

    @Test func uaBasedPrefersTheUserField() {
        let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36"
        // The SDK (uap-core) reads this agent as Windows 10.0.0, Chrome 120.0.6099 (see the fixtures).
        #expect(Build.passes(Build.condition("ua_based", "eq", "Windows", field: "os_name"),
                             StatsigUser(userID: "u1", userAgent: ua)))
        #expect(Build.passes(Build.condition("ua_based", "eq", "120.0.6099", field: "browser_version"),
                             StatsigUser(userID: "u1", userAgent: ua)))
        // custom["os_name"] is read before the agent is parsed.
        #expect(Build.passes(Build.condition("ua_based", "eq", "iOS", field: "os_name"),
                             StatsigUser(userID: "u1", userAgent: ua, custom: ["os_name": "iOS"])))
        // No agent and no field: None.
        #expect(Build.passes(Build.condition("ua_based", "eq", .null, field: "os_name"), u1))
    }

    @Test func targetAppIsNoneOnAServer() {
        // The SDK's app id is None unless the rules name one; `any` fails and `none` holds.
        #expect(!Build.passes(Build.condition("target_app", "any", ["app-1"]), u1))
        #expect(Build.passes(Build.condition("target_app", "none", ["app-1"]), u1))
    }

    @Test func conditionWithoutOperatorIsFalse() {
        // A user_field condition needs an operator; with none the SDK falls through to `return False`.
        #expect(!Build.passes(Build.condition("user_field", nil, "x", field: "plan"), StatsigUser(userID: "u1", custom: ["plan": "x"])))
    }
}
