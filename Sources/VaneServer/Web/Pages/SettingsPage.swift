import Foundation
import HTTPTypes
import Hummingbird
import VaneCore
import VaneStore

// Settings: keys, users, environments and ID types, webhooks, and the audit log, one tab each.

struct SettingsView: Sendable {
    struct Key: Sendable {
        let id: String
        let prefix: String
        let kind: String
        let environment: String
        let description: String
        let created: String
        let revoked: Bool
    }
    struct User: Sendable {
        let id: String
        let email: String
        let name: String
        let role: String
        let created: String
        let disabled: Bool
        let roles: [WebOption]
    }
    struct Webhook: Sendable {
        let id: String
        let url: String
        let description: String
        let enabled: Bool
        let kinds: String
        let delivered: Int
        let queued: Int
        let deadLettered: Int
        let hasDeadLetters: Bool
        let failing: Bool
        let lastError: String
        let lastErrorTime: String
        let lastSuccess: String
        let created: String
    }

    /// The tab shown, as `tab.keys`, `tab.users`, … for the template.
    let tab: [String: Bool]
    /// The add-user form as sent, with a message per refused field.
    let form: [String: String]
    let errors: [String: String]
    let userError: String
    let environments: [String]
    var keys: [Key] = []
    var users: [User] = []
    var idTypes: [String] = []
    /// The configuration kinds a webhook can be limited to.
    var kinds = ""
    var webhooks: [Webhook] = []
    var auditLog: AuditView? = nil
}

/// The audit tab: filters as pickers (kind, action, who, date range) and each entry with its changes field by field.
struct AuditView: Sendable {
    struct Entry: Sendable {
        struct Change: Sendable {
            let path: String
            let before: String
            let after: String
        }
        let time: String
        let actor: String
        let action: String
        let kind: String
        let name: String
        let description: String
        let changeCount: Int
        let hasChanges: Bool
        let changes: [Change]
    }

    /// The filters as sent.
    let q: [String: String]
    let kindOptions: [WebOption]
    let actionOptions: [WebOption]
    /// Who changed something recently, for the "who" field's suggestions.
    let actors: [String]
    let entries: [Entry]
}

extension WebController {
    func settingsPage(_ r: Request, _ s: ConsoleSession, form: [String: String], errors: [String: String], error: String?,
                      status: HTTPResponse.Status = .ok, tabOverride: String? = nil) async throws -> Response {
        let tab = tabOverride ?? r.query("tab") ?? "keys"
        var view = SettingsView(tab: [tab: true], form: form, errors: errors, userError: error ?? "",
                                environments: try await store.environments(project: project))
        switch tab {
        case "users":
            view.users = try await store.users().map { u in
                .init(id: u.id, email: u.email, name: u.name, role: u.role.rawValue, created: WebFormat.time(u.createdAt),
                      disabled: u.disabledAt != nil,
                      roles: WebOption.list(ConsoleRole.allCases.reversed().map(\.rawValue), selected: u.role.rawValue))
            }
        case "webhooks":
            view.kinds = WebhookPayload.configurationKinds.joined(separator: ", ")
            for hook in try await store.webhooks(project: project) {
                let v = try await WebhookView.load(hook, project: project, store: store)
                let d = hook.delivery
                view.webhooks.append(.init(
                    id: hook.id, url: hook.url, description: hook.description, enabled: hook.enabled,
                    kinds: hook.kinds.isEmpty ? "every configuration change" : hook.kinds.joined(separator: ", "),
                    delivered: d.delivered, queued: v.queued, deadLettered: v.deadLettered, hasDeadLetters: v.deadLettered > 0,
                    failing: v.failing, lastError: d.lastError ?? "", lastErrorTime: WebFormat.time(d.lastErrorTime),
                    lastSuccess: d.lastSuccess.map { WebFormat.time($0) } ?? "never", created: WebFormat.time(hook.createdAt)))
            }
        case "project":
            view.idTypes = try await idTypes()
        case "audit":
            view.auditLog = try await auditView(r)
        default:
            view.keys = try await store.keys(project: project).map { k in
                .init(id: k.id, prefix: k.displayPrefix, kind: k.kind.rawValue, environment: k.environment ?? "all",
                      description: k.description, created: WebFormat.time(k.createdAt), revoked: k.revokedAt != nil)
            }
        }
        return try render("settings", view, s, status: status, title: "Settings", nav: "settings")
    }

    func auditView(_ r: Request) async throws -> AuditView {
        let q = r.queryItems()
        func day(_ name: String, plusOne: Bool) -> Int64? {
            guard let s = q[name], !s.isEmpty, let t = ISOTime.parse(s + "T00:00:00Z") else { return nil }
            return plusOne ? t.saturatingAdd(86_400_000) : t
        }
        let entries = try await store.auditLog(project: project, query: AuditQuery(
            kind: r.nonEmptyQuery("kind"), name: r.nonEmptyQuery("name"), actor: r.nonEmptyQuery("actor"), action: r.nonEmptyQuery("action"),
            since: day("since", plusOne: false), until: day("until", plusOne: true), limit: 200))
        let recentActors = Set(try await store.auditLog(project: project, query: AuditQuery(limit: 500)).map(\.actor)).sorted()
        func shown(_ v: JSONValue?) -> String {
            guard let v else { return "(none)" }
            let text = v.serialized(sortedKeys: true)
            return text.count > 160 ? String(text.prefix(160)) + "…" : text
        }
        return AuditView(
            q: q, kindOptions: WebOption.list(Self.auditKinds, selected: q["kind"]),
            actionOptions: WebOption.list(Self.auditActions, selected: q["action"]),
            actors: recentActors,
            entries: entries.map { a in
                let changes = JSONDiff.changes(a.before, a.after, limit: 50)
                return .init(
                    time: WebFormat.time(a.time), actor: a.actor, action: a.action.replacingOccurrences(of: "_", with: " "),
                    kind: a.kind, name: a.name, description: a.description, changeCount: changes.count, hasChanges: !changes.isEmpty,
                    changes: changes.map { .init(path: $0.path, before: shown($0.before), after: shown($0.after)) })
            })
    }

    static let auditKinds = WebhookPayload.configurationKinds + ["key", "user", "secrets", "webhook"]
    static let auditActions = [
        "created", "updated", "deleted", "enabled", "disabled", "started", "decision_made", "abandoned", "ids_changed", "imported",
        "scheduled_rollout", "guardrail_rollback", "revoked", "secret_rotated", "resealed",
    ]

    func createUser(_ r: Request, _ s: ConsoleSession) async throws -> Response {
        let form = try await body.form(r)
        guard WebAuth.csrfMatches(form["_csrf"], s) else { throw APIError(.forbidden, "missing or wrong CSRF token") }
        guard s.user.role == .admin else { throw APIError(.forbidden, "only admins can add users") }
        guard let role = ConsoleRole(rawValue: form["role"] ?? "") else {
            return try await settingsPage(r, s, form: form, errors: [:], error: "Role must be viewer, editor or admin.",
                                          status: .badRequest, tabOverride: "users")
        }
        do {
            _ = try await auth.createUser(email: form["email"] ?? "", name: form["name"] ?? "", password: form["password"] ?? "",
                                          role: role, actor: s.user.email)
        } catch let e as FieldError {
            return try await settingsPage(r, s, form: form, errors: [e.field: e.message], error: nil, status: .badRequest, tabOverride: "users")
        }
        return Self.redirect("/console/settings?tab=users")
    }
}
