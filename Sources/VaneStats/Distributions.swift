import Foundation

// Special functions and the three distributions the engine needs (normal, Student t, chi-square),
// written from the textbook algorithms so the module has no dependencies:
//
// - log Γ: shift the argument to x >= 10, then Stirling's series (7 Bernoulli terms).
// - log B(a, b): Stirling differences with log1p, so B(ν/2, 1/2) stays accurate for huge ν.
// - regularized incomplete beta I_x(a, b): the classic continued fraction (modified Lentz), and for
//   a >= 15, b <= 1, x near 1 (the Student t with many degrees of freedom, where the continued
//   fraction loses about ν·ε to cancellation) the expansion
//   I_x(a,b) = 1/B(a,b) · Σ p_n T^-(b+2n) Γ(b+2n, z),  T = a + (b−1)/2,  z = −T·ln x,
//   p_n the coefficients of (sinh(w/2)/(w/2))^(b−1) in powers of w² (the idea behind
//   DiDonato & Morris' BGRAT, derived here from e^{−aw}(1−e^{−w})^{b−1}).
// - regularized incomplete gamma P/Q: power series below a+1, Lentz continued fraction above.
// - erf/erfc and the normal tails through Q(1/2, x²).
// - normal quantile: Acklam's rational approximation polished by Halley steps on the exact CDF.
// - Student t quantile: Newton on log sf(e^s) with a bisection safeguard.
//
// Checked against scipy 1.17.1 (and mpmath where scipy is itself off) by
// Tests/VaneStatsTests/Fixtures/make_fixtures.py: relative error about 1e-11 at worst on the fixture
// grid (ν from 1 to 1e8, tails down to 1e-300); the tests require 1e-10.

/// Gamma, beta and error functions used by the distributions.
public enum SpecialFunctions {
    static let halfLogTwoPi = 0.918_938_533_204_672_741_78
    static let tiny = 1e-300
    static let maxIterations = 100_000

    /// log Γ(x) − [(x − ½)·ln x − x + ½·ln 2π] for x >= 10 (Stirling's series).
    static func stirlingCorrection(_ x: Double) -> Double {
        let x2 = 1.0 / (x * x)
        var s = 1.0 / 156.0
        s = -691.0 / 360_360.0 + x2 * s
        s = 1.0 / 1188.0 + x2 * s
        s = -1.0 / 1680.0 + x2 * s
        s = 1.0 / 1260.0 + x2 * s
        s = -1.0 / 360.0 + x2 * s
        s = 1.0 / 12.0 + x2 * s
        return s / x
    }

    /// ln Γ(x) for x > 0.
    public static func logGamma(_ x: Double) -> Double {
        guard x > 0 else { return x == 0 ? .infinity : .nan }
        guard x.isFinite else { return x }
        if x >= 10 {
            return (x - 0.5) * log(x) - x + halfLogTwoPi + stirlingCorrection(x)
        }
        var product = 1.0
        var y = x
        while y < 10 {
            product *= y
            y += 1
        }
        return (y - 0.5) * log(y) - y + halfLogTwoPi + stirlingCorrection(y) - log(product)
    }

    /// ln Γ(a) − ln Γ(a + b) for a >= 10, b > 0, without cancellation when a is large.
    static func logGammaRatio(_ a: Double, _ b: Double) -> Double {
        let c = a + b
        return -(a - 0.5) * log1p(b / a) - b * log(c) + b + stirlingCorrection(a) - stirlingCorrection(c)
    }

    /// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
    public static func logBeta(_ a: Double, _ b: Double) -> Double {
        let lo = min(a, b)
        let hi = max(a, b)
        if hi < 10 {
            return logGamma(a) + logGamma(b) - logGamma(a + b)
        }
        if lo < 10 {
            return logGamma(lo) + logGammaRatio(hi, lo)
        }
        let c = a + b
        let logAOverC = b < a ? log1p(-b / c) : log(a / c)
        let logBOverC = a < b ? log1p(-a / c) : log(b / c)
        return halfLogTwoPi - 0.5 * log(c) + (a - 0.5) * logAOverC + (b - 0.5) * logBOverC
            + stirlingCorrection(a) + stirlingCorrection(b) - stirlingCorrection(c)
    }

    // MARK: incomplete gamma

    /// Regularized incomplete gamma: (P(a, x), Q(a, x)) with P + Q = 1. The smaller of the two is
    /// computed directly, the other as its complement.
    public static func regularizedGamma(_ a: Double, _ x: Double) -> (p: Double, q: Double) {
        guard a > 0, !x.isNaN, !a.isNaN else { return (.nan, .nan) }
        if x <= 0 { return (0, 1) }
        if x.isInfinite { return (1, 0) }
        let front = exp(-x + a * log(x) - logGamma(a))
        if x < a + 1 {
            var ap = a
            var sum = 1.0 / a
            var term = sum
            for _ in 0..<maxIterations {
                ap += 1
                term *= x / ap
                sum += term
                if abs(term) < abs(sum) * 1e-16 { break }
            }
            let p = sum * front
            return (p, 1 - p)
        }
        var b = x + 1 - a
        var c = 1.0 / tiny
        var d = 1.0 / b
        var h = d
        var i = 1.0
        while i < Double(maxIterations) {
            let an = -i * (i - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1.0 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
            i += 1
        }
        let q = front * h
        return (1 - q, q)
    }

    /// Upper regularized incomplete gamma Q(a, x).
    public static func gammaQ(_ a: Double, _ x: Double) -> Double { regularizedGamma(a, x).q }

    /// Lower regularized incomplete gamma P(a, x).
    public static func gammaP(_ a: Double, _ x: Double) -> Double { regularizedGamma(a, x).p }

    /// erf(x) = sign(x)·P(½, x²).
    public static func erf(_ x: Double) -> Double {
        if x.isNaN { return .nan }
        let p = regularizedGamma(0.5, x * x).p
        return x >= 0 ? p : -p
    }

    /// erfc(x) = Q(½, x²) for x >= 0, 1 + P(½, x²) below.
    public static func erfc(_ x: Double) -> Double {
        if x.isNaN { return .nan }
        let pq = regularizedGamma(0.5, x * x)
        return x >= 0 ? pq.q : 1 + pq.p
    }

    // MARK: incomplete beta

    /// Continued fraction for I_x(a, b) (Numerical Recipes' betacf, modified Lentz).
    static func betaContinuedFraction(_ a: Double, _ b: Double, _ x: Double) -> Double {
        let qab = a + b
        let qap = a + 1
        let qam = a - 1
        var c = 1.0
        var d = 1.0 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1.0 / d
        var h = d
        var m = 1.0
        while m <= Double(maxIterations) {
            let m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1.0 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1.0 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1.0 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1.0 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1.0 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1.0 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1.0) < 1e-15 { break }
            m += 1
        }
        return h
    }

    /// I_x(a, b) for a >= 15, b <= 1 and y = 1 − x < 0.1 (see the file header).
    static func betaLargeASmallB(_ a: Double, _ b: Double, _ x: Double, _ y: Double) -> Double {
        let bigT = a + 0.5 * (b - 1.0)
        let w0 = -log1p(-y)
        let z = bigT * w0
        let qz = regularizedGamma(b, z).q
        if !(qz > 0) { return 0 }
        let lead = qz * exp(-b * log(bigT) - logGammaRatio(a, b))
        // e = z^(b+k) e^-z / (Γ(b, z) T^k), r = Γ(b+k, z) / (Γ(b, z) T^k); k = 0 here.
        var e = z > 0 ? exp(b * log(z) - z - logGamma(b) - log(qz)) : 0
        var r = 1.0
        var s = b
        let power = b - 1.0
        var g: [Double] = [1.0]  // coefficients of sinh(w/2)/(w/2) in w²
        var f: [Double] = [1.0]  // coefficients of (sinh(w/2)/(w/2))^(b−1) in w²
        var total = 1.0
        for n in 1..<60 {
            let dn = Double(n)
            g.append(g[n - 1] / (4.0 * (2 * dn) * (2 * dn + 1)))
            var fn = 0.0
            for k in 1...n {
                fn += (Double(k) * (power + 1.0) - dn) * g[k] * f[n - k]
            }
            fn /= dn
            f.append(fn)
            for _ in 0..<2 {
                r = (s * r + e) / bigT
                e = e * z / bigT
                s += 1.0
            }
            let term = fn * r
            total += term
            if abs(term) <= 1e-17 * abs(total) { break }
        }
        return lead * total
    }

    /// Regularized incomplete beta: (I_x(a, b), 1 − I_x(a, b)). The caller passes y = 1 − x as
    /// well, computed without cancellation (e.g. x = ν/(ν+t²), y = t²/(ν+t²)); the side that is
    /// computed directly is accurate to about 1e-13 relative, the other is its complement.
    public static func regularizedBeta(_ a: Double, _ b: Double, x: Double, y: Double) -> (p: Double, q: Double) {
        guard a > 0, b > 0, !x.isNaN, !y.isNaN else { return (.nan, .nan) }
        if x <= 0 { return (0, 1) }
        if y <= 0 { return (1, 0) }
        let logX = x <= 0.5 ? log(x) : log1p(-y)
        let logY = y <= 0.5 ? log(y) : log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            if a >= 15 && b <= 1 && y < 0.1 {
                let p = betaLargeASmallB(a, b, x, y)
                return (p, 1 - p)
            }
            let front = exp(a * logX + b * logY - logBeta(a, b))
            let p = front * betaContinuedFraction(a, b, x) / a
            return (p, 1 - p)
        }
        let front = exp(a * logX + b * logY - logBeta(a, b))
        let q = front * betaContinuedFraction(b, a, y) / b
        return (1 - q, q)
    }

    /// Regularized incomplete beta I_x(a, b).
    public static func regularizedBeta(_ a: Double, _ b: Double, _ x: Double) -> Double {
        regularizedBeta(a, b, x: x, y: 1 - x).p
    }
}

/// The standard normal distribution.
public enum Normal {
    static let acklamA = [
        -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
        1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00,
    ]
    static let acklamB = [
        -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
        6.680131188771972e+01, -1.328068155288572e+01,
    ]
    static let acklamC = [
        -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
        -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00,
    ]
    static let acklamD = [
        7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00,
    ]

    /// Density φ(z).
    public static func pdf(_ z: Double) -> Double {
        exp(-0.5 * z * z - SpecialFunctions.halfLogTwoPi)
    }

    /// Upper tail 1 − Φ(z), accurate far into the tail.
    public static func sf(_ z: Double) -> Double {
        if z.isNaN { return .nan }
        let pq = SpecialFunctions.regularizedGamma(0.5, 0.5 * z * z)
        return z >= 0 ? 0.5 * pq.q : 0.5 + 0.5 * pq.p
    }

    /// Φ(z).
    public static func cdf(_ z: Double) -> Double { sf(-z) }

    /// c[0]·x^(k−1) + … + c[k−1] (Horner).
    static func polynomial(_ coefficients: [Double], _ x: Double) -> Double {
        var result = 0.0
        for c in coefficients { result = result * x + c }
        return result
    }

    /// Acklam's rational approximation of Φ⁻¹(p), relative error about 1e-9.
    static func acklam(_ p: Double) -> Double {
        let pLow = 0.02425
        if p < pLow {
            let q = (-2 * log(p)).squareRoot()
            return polynomial(acklamC, q) / (polynomial(acklamD, q) * q + 1)
        }
        if p <= 1 - pLow {
            let q = p - 0.5
            let r = q * q
            return polynomial(acklamA, r) * q / (polynomial(acklamB, r) * r + 1)
        }
        let q = (-2 * log1p(-p)).squareRoot()
        return -polynomial(acklamC, q) / (polynomial(acklamD, q) * q + 1)
    }

    /// Φ⁻¹(p), the quantile: Acklam's approximation refined with Halley steps on the exact CDF.
    public static func quantile(_ p: Double) -> Double {
        if p.isNaN { return .nan }
        if p <= 0 { return -.infinity }
        if p >= 1 { return .infinity }
        if p == 0.5 { return 0 }
        if p > 0.5 { return -quantile(1 - p) }  // 1 − p is exact for p >= 0.5
        var x = acklam(p)
        for _ in 0..<3 {
            let e = cdf(x) - p
            let u = e / pdf(x)
            let step = u / (1 + 0.5 * x * u)
            x -= step
            if abs(step) <= 1e-15 * abs(x) { break }
        }
        return x
    }

    /// The z with 1 − Φ(z) = q (inverse survival function).
    public static func inverseSF(_ q: Double) -> Double { -quantile(q) }
}

/// Student's t distribution with `dof` degrees of freedom (any real dof > 0).
public enum StudentT {
    /// P(T > t).
    public static func sf(_ t: Double, dof: Double) -> Double {
        if t.isNaN || dof.isNaN || !(dof > 0) { return .nan }
        if t == 0 { return 0.5 }
        let t2 = t * t
        let tail: Double  // P(|T| > |t|)
        if t2.isInfinite {
            tail = 0
        } else {
            let x = dof / (dof + t2)
            let y = t2 / (dof + t2)
            tail = SpecialFunctions.regularizedBeta(0.5 * dof, 0.5, x: x, y: y).p
        }
        return t > 0 ? 0.5 * tail : 1 - 0.5 * tail
    }

    /// P(T <= t).
    public static func cdf(_ t: Double, dof: Double) -> Double { sf(-t, dof: dof) }

    /// Two-sided tail P(|T| >= |t|).
    public static func twoSidedPValue(_ t: Double, dof: Double) -> Double {
        if t.isNaN { return .nan }
        return min(1, 2 * sf(abs(t), dof: dof))
    }

    /// ln of the density.
    public static func logPDF(_ t: Double, dof: Double) -> Double {
        let a = 0.5 * dof
        let logRatio: Double  // ln Γ((ν+1)/2) − ln Γ(ν/2)
        if a >= 10 {
            logRatio = -SpecialFunctions.logGammaRatio(a, 0.5)
        } else {
            logRatio = SpecialFunctions.logGamma(a + 0.5) - SpecialFunctions.logGamma(a)
        }
        return logRatio - 0.5 * log(dof * Double.pi) - (dof + 1) * 0.5 * log1p(t * t / dof)
    }

    /// Density.
    public static func pdf(_ t: Double, dof: Double) -> Double { exp(logPDF(t, dof: dof)) }

    /// The t with P(T > t) = q (inverse survival function; `quantile(1 − q)` without the rounding of 1 − q).
    public static func inverseSF(_ q: Double, dof: Double) -> Double {
        if q.isNaN || dof.isNaN || !(dof > 0) { return .nan }
        if q <= 0 { return .infinity }
        if q >= 1 { return -.infinity }
        if q == 0.5 { return 0 }
        if q > 0.5 { return -inverseSF(1 - q, dof: dof) }
        if dof == 1 { return 1 / tan(Double.pi * q) }
        if dof == 2 { return 2.0.squareRoot() * (1 - 2 * q) / (4 * q * (1 - q)).squareRoot() }

        // Cornish–Fisher start from the normal quantile.
        let z = Normal.inverseSF(q)
        let z2 = z * z
        let firstOrder: Double = z * (z2 + 1) / (4 * dof)
        let secondOrder: Double = z * ((5 * z2 + 16) * z2 + 3) / (96 * dof * dof)
        var guess = z + firstOrder + secondOrder
        if !(guess > 0) || guess.isInfinite { guess = z }
        let logQ = log(q)

        // h(s) = ln sf(e^s) − ln q is decreasing in s and nearly linear in the tail.
        func h(_ s: Double) -> (h: Double, t: Double, sf: Double) {
            let t = exp(s)
            let tail = sf(t, dof: dof)
            return ((tail > 0 ? log(tail) : -.infinity) - logQ, t, tail)
        }

        // Bracket the root in s = ln t: h(lo) > 0 >= h(hi).
        var s = log(guess)
        var lo = s
        var hi = s
        if h(s).h > 0 {
            var step = 1.0
            hi = s + step
            while h(hi).h > 0 {
                lo = hi
                step *= 2
                if step > 4096 { return .infinity }
                hi = lo + step
            }
            s = lo
        } else {
            var step = 1.0
            lo = s - step
            while !(h(lo).h > 0) {
                hi = lo
                step *= 2
                if step > 4096 { return 0 }
                lo = hi - step
            }
            s = hi
        }
        if !(lo <= s && s <= hi) { s = 0.5 * (lo + hi) }

        for _ in 0..<200 {
            let (hs, t, tail) = h(s)
            if hs == 0 { return t }
            if hs > 0 { lo = s } else { hi = s }
            // d/ds ln sf(e^s) = −t·pdf(t)/sf(t)
            let derivative = tail > 0 ? -t * pdf(t, dof: dof) / tail : -Double.infinity
            var next: Double
            if derivative != 0 && derivative.isFinite && hs.isFinite {
                next = s - hs / derivative
            } else {
                next = 0.5 * (lo + hi)
            }
            if abs(next - s) <= 1e-14 * max(1, abs(s)) { return exp(next) }
            if !(lo < next && next < hi) { next = 0.5 * (lo + hi) }
            if hi - lo <= 1e-15 * max(1, abs(s)) { return exp(next) }
            s = next
        }
        return exp(s)
    }

    /// The quantile (inverse CDF).
    public static func quantile(_ p: Double, dof: Double) -> Double {
        if p.isNaN { return .nan }
        if p < 0.5 { return -inverseSF(p, dof: dof) }
        return inverseSF(1 - p, dof: dof)
    }
}

/// The chi-square distribution.
public enum ChiSquared {
    /// P(X > x) for `dof` degrees of freedom = Q(dof/2, x/2).
    public static func sf(_ x: Double, dof: Double) -> Double {
        if x.isNaN || !(dof > 0) { return .nan }
        if x <= 0 { return 1 }
        return SpecialFunctions.regularizedGamma(0.5 * dof, 0.5 * x).q
    }

    /// P(X <= x).
    public static func cdf(_ x: Double, dof: Double) -> Double {
        if x.isNaN || !(dof > 0) { return .nan }
        if x <= 0 { return 0 }
        return SpecialFunctions.regularizedGamma(0.5 * dof, 0.5 * x).p
    }
}
