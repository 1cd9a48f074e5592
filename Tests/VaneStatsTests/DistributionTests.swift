import Foundation
import Testing
@testable import VaneStats

/// The special functions and distributions against scipy 1.17.1 (tables in the fixture):
/// relative 1e-10.
@Suite struct DistributionTests {
    static let relative = 1e-10
    static let tiny = 1e-300

    func table(_ path: KeyPath<StatsFixture.Distributions, [[Double]]>) throws -> [[Double]] {
        let rows = try StatsFixture.loaded.get().distributions[keyPath: path]
        #expect(!rows.isEmpty)
        return rows
    }

    @Test func studentT() throws {
        for row in try table(\.t) {
            let (dof, t) = (row[0], row[1])
            expectClose(StudentT.sf(t, dof: dof), row[2], "t sf(\(t), \(dof))", relative: Self.relative, absolute: Self.tiny)
            expectClose(StudentT.cdf(t, dof: dof), row[3], "t cdf(\(t), \(dof))", relative: Self.relative, absolute: Self.tiny)
            expectClose(StudentT.pdf(t, dof: dof), row[4], "t pdf(\(t), \(dof))", relative: Self.relative, absolute: Self.tiny)
        }
    }

    @Test func studentTQuantile() throws {
        for row in try table(\.tQuantile) {
            let (dof, q) = (row[0], row[1])
            expectClose(
                StudentT.inverseSF(q, dof: dof), row[2], "t isf(\(q), \(dof))", relative: Self.relative, absolute: Self.tiny)
            expectClose(
                StudentT.quantile(q, dof: dof), row[3], "t ppf(\(q), \(dof))", relative: Self.relative, absolute: Self.tiny)
        }
    }

    @Test func normal() throws {
        for row in try table(\.normal) {
            let z = row[0]
            expectClose(Normal.sf(z), row[1], "normal sf(\(z))", relative: Self.relative, absolute: Self.tiny)
            expectClose(Normal.cdf(z), row[2], "normal cdf(\(z))", relative: Self.relative, absolute: Self.tiny)
            expectClose(Normal.pdf(z), row[3], "normal pdf(\(z))", relative: Self.relative, absolute: Self.tiny)
        }
    }

    @Test func normalQuantile() throws {
        for row in try table(\.normalQuantile) {
            expectClose(Normal.quantile(row[0]), row[1], "normal ppf(\(row[0]))", relative: Self.relative, absolute: Self.tiny)
        }
    }

    @Test func chiSquared() throws {
        for row in try table(\.chi2) {
            let (dof, x) = (row[0], row[1])
            expectClose(ChiSquared.sf(x, dof: dof), row[2], "chi2 sf(\(x), \(dof))", relative: Self.relative, absolute: Self.tiny)
            expectClose(ChiSquared.cdf(x, dof: dof), row[3], "chi2 cdf(\(x), \(dof))", relative: Self.relative, absolute: Self.tiny)
        }
    }

    @Test func errorFunction() throws {
        for row in try table(\.erf) {
            expectClose(SpecialFunctions.erf(row[0]), row[1], "erf(\(row[0]))", relative: Self.relative, absolute: Self.tiny)
            expectClose(SpecialFunctions.erfc(row[0]), row[2], "erfc(\(row[0]))", relative: Self.relative, absolute: Self.tiny)
        }
    }

    @Test func logGamma() throws {
        for row in try table(\.lgamma) {
            expectClose(SpecialFunctions.logGamma(row[0]), row[1], "lgamma(\(row[0]))", relative: Self.relative, absolute: 1e-12)
        }
    }

    @Test func incompleteBeta() throws {
        for row in try table(\.beta) {
            let (a, b, x) = (row[0], row[1], row[2])
            let r = SpecialFunctions.regularizedBeta(a, b, x: x, y: 1 - x)
            expectClose(r.p, row[3], "I_\(x)(\(a), \(b))", relative: Self.relative, absolute: Self.tiny)
            expectClose(r.q, row[4], "1 - I_\(x)(\(a), \(b))", relative: Self.relative, absolute: Self.tiny)
        }
    }

    @Test func edgeCases() {
        #expect(StudentT.sf(0, dof: 7) == 0.5)
        #expect(StudentT.inverseSF(0.5, dof: 7) == 0)
        #expect(StudentT.inverseSF(0, dof: 7) == .infinity)
        #expect(StudentT.sf(.infinity, dof: 7) == 0)
        #expect(StudentT.sf(1, dof: 0).isNaN)
        #expect(Normal.quantile(0.5) == 0)
        #expect(Normal.quantile(0) == -.infinity)
        #expect(Normal.quantile(1) == .infinity)
        #expect(ChiSquared.sf(0, dof: 3) == 1)
        #expect(StudentT.twoSidedPValue(0, dof: 12) == 1)
        // Symmetry and round trips.
        for dof in [1.0, 2.0, 3.5, 40.0, 1e6] {
            for q in [0.3, 0.05, 1e-4] {
                let t = StudentT.inverseSF(q, dof: dof)
                #expect(isClose(StudentT.sf(t, dof: dof), q, relative: 1e-12, absolute: 0), "round trip \(q), \(dof)")
                #expect(StudentT.quantile(q, dof: dof) == -t)
            }
        }
        for p in [1e-12, 0.01, 0.3] {
            #expect(isClose(Normal.cdf(Normal.quantile(p)), p, relative: 1e-13, absolute: 0))
        }
    }
}
