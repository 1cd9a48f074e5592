"""Helpers shared by the conformance tests: users, strict JSON comparison, mismatch reports."""
import base64
import hashlib
import json
import random
import uuid


# ---------------------------------------------------------------- hashing helpers

def id_list_entry(unit_id):
    """An ID-list file entry: first 8 chars of base64(sha256(id))."""
    return base64.b64encode(hashlib.sha256(str(unit_id).encode("utf-8")).digest()).decode()[:8]


def djb2(name):
    h = 0
    for ch in name:
        h = (h * 31 + ord(ch)) & 0xFFFFFFFF
    return str(h)


# ---------------------------------------------------------------- users

def to_sdk_user(wire):
    """The Statsig SDK user for a wire-format user dict (as sent to Vane)."""
    from statsig import StatsigUser
    return StatsigUser(
        user_id=wire.get("userID"),
        email=wire.get("email"),
        ip=wire.get("ip"),
        user_agent=wire.get("userAgent"),
        country=wire.get("country"),
        locale=wire.get("locale"),
        app_version=wire.get("appVersion"),
        custom=wire.get("custom"),
        private_attributes=wire.get("privateAttributes"),
        custom_ids=wire.get("customIDs"),
        _statsig_environment=wire.get("statsigEnvironment"),
    )


USER_AGENTS = [
    # Chrome / Windows 10
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.109 Safari/537.36",
    # Chrome / macOS
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36",
    # Safari / macOS
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    # Mobile Safari / iPhone
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1.2 Mobile/15E148 Safari/604.1",
    # Firefox / Linux
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    # Firefox / Windows
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
    # Edge / Windows
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61",
    # Chrome Mobile / Android
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.43 Mobile Safari/537.36",
    # Chrome / Windows 7
    "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/109.0.0.0 Safari/537.36",
    # Chrome Mobile iOS
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "CriOS/119.0.6045.169 Mobile/15E148 Safari/604.1",
]

# IDs that rules target explicitly, so that some generated users hit them.
TARGETED_USER_IDS = ["u1", "u2", "User-7", "alice", "bob", "vip-1", "vip-2", "vip-3", "12345", "beta-1", "beta-2"]
VIP_IDS = ["vip-1", "vip-2", "vip-3", "vip-4", "vip-5", "user-17", "user-42", "user-99", "12345"]
COMPANIES = ["acme", "globex", "initech", "umbrella", "Acme", "hooli", "stark"]
DOMAINS = ["gmail.com", "Example.COM", "example.com", "vane.dev", "internal.example", "yahoo.com",
           "test.io", "hotmail.co.uk", "VANE.DEV"]
COUNTRIES = ["US", "us", "CA", "GB", "DE", "FR", "JP", "BR", "IN", "NZ"]
LOCALES = ["en_US", "en-GB", "fr_FR", "de_DE", "ja_JP", "pt_BR", "EN_us", "es", "fr-CA"]
APP_VERSIONS = ["1.0.0", "1.2.3", "1.2.3-beta", "2.0", "2.0.0", "2.1.0", "2.1.1-rc.1", "3.0.0", "3.10.2",
                "0.9", "0.9.9", "10.0.0", "1", "1.2.3.4", "abc", "1..2", "2.x", "-1.0", "", " 2.5 ",
                "v2.0", "2.0.0-alpha-2", "1e3.0", "4.0.0+build.7", "02.01.000"]
PLANS = ["pro", "free", "Pro", "enterprise", "ENTERPRISE", "", "team"]
TEAMS = ["Alpha", "alpha", "beta", "Beta", "GAMMA", "delta", "Ärzte", "ÄRZTE", "Straße", "ΣΟΦΙΑ", "sofia", "Œuvre"]
NICKNAMES = ["bob42", "alice7", "zed99x", "carl12", "Dana33", "eve", "frank2024", "gina01"]
TIERS = ["production", "staging", "development", None]

# Day used by the `on` rules: 2024-03-09 UTC (1710000000 s is 16:00 that day).
ON_DAY_MS = 1710000000000


def _numeric_value(rng):
    """Values that are safe for the SDK's float() conversion (gt/gte/lt/lte)."""
    k = rng.random()
    if k < 0.45:
        return rng.randint(0, 100)
    if k < 0.7:
        return round(rng.uniform(0, 100), rng.choice([1, 2, 3, 6]))
    if k < 0.8:
        return rng.choice(["42", "50", "50.0", "7.5", "1e2", "-3", "100", "10.5", "30"])
    if k < 0.85:
        return rng.choice([True, False])
    if k < 0.9:
        return rng.choice([30, 30.0, 50.5, 18, 18.0, 90])
    return None


def _date_value(rng):
    """Values that are safe for the SDK's int() conversion (before/after/on)."""
    k = rng.random()
    if k < 0.3:
        return rng.randint(1600000000000, 1800000000000)  # epoch ms
    if k < 0.45:
        return ON_DAY_MS + rng.randint(-60000000, 30000000)  # around the `on` day
    if k < 0.6:
        return rng.randint(1600000000, 1800000000)  # epoch seconds (10 digits)
    if k < 0.7:
        return float(rng.randint(1600000000000, 1800000000000))  # float ms
    if k < 0.75:
        return float(rng.randint(1600000000, 1800000000))  # float s: str() has 12 chars -> read as ms
    if k < 0.85:
        return str(rng.randint(1600000000000, 1800000000000))  # numeric string
    if k < 0.88:
        return rng.choice([True, 0, 1])
    return None


def _tags(rng):
    k = rng.random()
    if k < 0.1:
        return "a"  # not a list
    if k < 0.15:
        return []
    pool = ["a", "b", "x", "y", "z", "0", "1", "2", 1, 2, 7, 0, 2.0, 1.0, True, None, "7", "X"]
    return [rng.choice(pool) for _ in range(rng.randint(1, 4))]


def _ratio(rng):
    return rng.choice([0.1, 1e-05, 2.5, 1e16, 1e+22, 123456789.123, 1.0, 3, 0.30000000000000004,
                       100.0, 0.5, 1e15, "0.1", "2.5"])


def make_user(rng, i):
    """One deterministic pseudo-random user in wire format."""
    u = {}
    k = rng.random()
    if k < 0.08:
        pass  # no userID: customIDs only
    elif k < 0.15:
        u["userID"] = rng.choice(TARGETED_USER_IDS + VIP_IDS)
    elif k < 0.25:
        u["userID"] = str(rng.randint(1, 10 ** rng.randint(1, 12)))
    elif k < 0.3:
        u["userID"] = "User-%d" % rng.randint(0, 50)
    elif k < 0.32:
        u["userID"] = rng.choice(["用户-", "José-", "Ünïcødé-", "😀-"]) + str(i)
    else:
        u["userID"] = "user-%d" % i

    if rng.random() < 0.8:
        local = rng.choice(["alice", "bob", "carol.smith", "dave+test", "eve", "Frank.Jones", "test.user",
                            "spam.bot", "gina", "h.i", "ivan+promo", "josé", "ÜBER.user"]) + str(rng.randint(0, 99))
        u["email"] = local + "@" + rng.choice(DOMAINS)
    elif rng.random() < 0.1:
        u["email"] = ""

    country = None
    if rng.random() < 0.7:
        country = rng.choice(COUNTRIES)
        u["country"] = country
        if rng.random() < 0.4:
            u["ip"] = rng.choice(["10.0.0.%d" % rng.randint(1, 254), "192.168.1.%d" % rng.randint(1, 254),
                                  "8.8.8.8", "2001:db8::1", "172.16.5.4"])
    if rng.random() < 0.7:
        u["locale"] = rng.choice(LOCALES)
    if rng.random() < 0.75:
        u["appVersion"] = rng.choice(APP_VERSIONS)
    if rng.random() < 0.6:
        u["userAgent"] = rng.choice(USER_AGENTS)

    custom = {}
    if rng.random() < 0.85:
        if rng.random() < 0.8:
            custom["age"] = _numeric_value(rng)
        if rng.random() < 0.7:
            custom["score"] = _numeric_value(rng)
        if rng.random() < 0.6:
            custom["plan"] = rng.choice(PLANS)
        if rng.random() < 0.1:
            custom["PLAN"] = rng.choice(PLANS)
        if rng.random() < 0.6:
            custom["level"] = rng.choice([1, 2, 3, 4, 5, 3.0, "3", True, False, 1.0, 0])
        if rng.random() < 0.5:
            custom["beta"] = rng.choice([True, False, "true", 1, 0, "True"])
        if rng.random() < 0.5:
            custom["nickname"] = rng.choice(NICKNAMES)
        if rng.random() < 0.6:
            custom["tags"] = _tags(rng)
        if rng.random() < 0.5:
            custom["team"] = rng.choice(TEAMS)
        if rng.random() < 0.6:
            custom["signup"] = _date_value(rng)
        if rng.random() < 0.4:
            custom["ratio"] = _ratio(rng)
        if rng.random() < 0.4:
            custom["flag"] = rng.choice([True, False, "true", "TRUE", 1])
        if "email" in u and u["email"] == "" and rng.random() < 0.7:
            custom["email"] = "fallback%d@vane.dev" % rng.randint(0, 9)
    if custom or rng.random() < 0.05:
        u["custom"] = custom

    if rng.random() < 0.12:
        priv = {}
        if rng.random() < 0.7:
            priv["secret_flag"] = rng.choice([True, False])
        if rng.random() < 0.5:
            priv["plan"] = rng.choice(PLANS)
        if rng.random() < 0.3:
            priv["Secret_Flag"] = True
        u["privateAttributes"] = priv

    ids = {}
    if rng.random() < 0.5:
        ids["companyID"] = rng.choice(COMPANIES)
    elif rng.random() < 0.1:
        ids["companyid"] = rng.choice(COMPANIES)
    if rng.random() < 0.5:
        ids["stableID"] = uuid.UUID(int=rng.getrandbits(128)).hex
    if "userID" not in u and not ids:
        ids["stableID"] = uuid.UUID(int=rng.getrandbits(128)).hex
    if ids:
        u["customIDs"] = ids

    tier = rng.choice(TIERS)
    if rng.random() < 0.03:
        tier = "Staging"
    if tier is not None:
        u["statsigEnvironment"] = {"tier": tier}
    return u


def make_users(n, seed=20240611):
    rng = random.Random(seed)
    return [make_user(rng, i) for i in range(n)]


# ---------------------------------------------------------------- strict comparison

def same(a, b):
    """JSON equality that does not let Python equate True with 1 (but 1 == 1.0)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def diff(a, b, path=""):
    """A short human description of the first difference between two JSON values."""
    if same(a, b):
        return None
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                return "%s.%s: only in Vane (%s)" % (path, k, _short(b[k]))
            if k not in b:
                return "%s.%s: missing in Vane (SDK has %s)" % (path, k, _short(a[k]))
            d = diff(a[k], b[k], "%s.%s" % (path, k))
            if d:
                return d
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, "%s[%d]" % (path, i))
            if d:
                return d
    return "%s: SDK %s != Vane %s" % (path or "<value>", _short(a), _short(b))


def _short(v, n=300):
    s = json.dumps(v, ensure_ascii=False, default=str)  # key order as sent: it can matter (str() of dicts)
    return s if len(s) <= n else s[:n] + "..."


class Mismatches:
    """Collects mismatches per (category, entity) and formats a readable report."""

    def __init__(self, what, legend=None):
        self.what = what
        self.items = []
        self.checked = 0
        # rule id -> "spec / rule name", to make generated rule ids readable in reports
        self.legend = legend or {}

    def check(self, key, user, sdk_value, vane_value, note=""):
        self.checked += 1
        d = diff(sdk_value, vane_value)
        if d:
            self.items.append((key, user, d, sdk_value, vane_value, note))
        return d is None

    def add(self, key, user, text):
        self.items.append((key, user, text, None, None, ""))

    def __bool__(self):
        return bool(self.items)

    def report(self, examples=6):
        if not self.items:
            return "%s: %d checks, no mismatches" % (self.what, self.checked)
        by_key = {}
        for it in self.items:
            by_key.setdefault(it[0], []).append(it)
        lines = ["%s: %d mismatches in %d checks, across %d entities:" % (
            self.what, len(self.items), self.checked, len(by_key))]
        for key, items in sorted(by_key.items(), key=lambda kv: -len(kv[1])):
            lines.append("  * %s: %d mismatching users" % (key, len(items)))
            for (_, user, d, sdk_v, vane_v, note) in items[:examples]:
                lines.append("      user=%s" % _short(user, 600))
                lines.append("        %s%s" % (d, ("  [" + note + "]") if note else ""))
                if sdk_v is not None or vane_v is not None:
                    lines.append("        SDK : %s" % _short(sdk_v, 500))
                    lines.append("        Vane: %s" % _short(vane_v, 500))
                if self.legend:
                    text = d + _short(sdk_v, 500) + _short(vane_v, 500)
                    named = ["%s = %s" % (rid, label) for rid, label in sorted(self.legend.items())
                             if len(rid) > 3 and ('"%s"' % rid) in text]
                    if named:
                        lines.append("        rule ids: " + "; ".join(named))
        return "\n".join(lines)
