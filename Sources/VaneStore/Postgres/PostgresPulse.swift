import PostgresNIO
import VaneCore

extension PostgresStore /* PulseRepository */ {
    public func pulseRollup(project: String, catalog: PulseCatalog, maxEvents: Int) async throws -> PulseProgress {
        throw Self.notYet(#function)
    }

    public func pulseReset(project: String) async throws {
        throw Self.notYet(#function)
    }

    public func pulseSetAside(project: String, limit: Int) async throws -> (counts: [String: Int], recent: [PulseSetAside]) {
        throw Self.notYet(#function)
    }

    public func pulseArms(project: String, subject: String, unitType: String) async throws -> PulseArmData {
        throw Self.notYet(#function)
    }

    public func pulseUnitValues(project: String, subject: String, unitType: String, sources: [String]) async throws -> [PulseUnitRow] {
        throw Self.notYet(#function)
    }

    public func pulseSources(project: String) async throws -> [PulseSourceTotals] {
        throw Self.notYet(#function)
    }

    public func pulseSeries(project: String, source: String) async throws -> [PulseSeriesDay] {
        throw Self.notYet(#function)
    }

}
