import Foundation
import Hummingbird
import VaneCore
import VaneStore

// ID lists: the lists with their sizes, and one list's recent changes.

struct IDListsView: Sendable {
    struct Item: Sendable {
        let name: String
        let href: String
        let size: Int
        let updated: String
        let lastSource: String
    }
    let items: [Item]
}

struct IDListView: Sendable {
    struct Change: Sendable {
        let time: String
        let op: String
        let id: String
        let source: String
    }
    let name: String
    let apiPath: String
    let size: Int
    let changes: [Change]
}

extension WebController {
    func idListsPage(_ s: ConsoleSession) async throws -> Response {
        var items: [IDListsView.Item] = []
        for l in try await store.idLists(project: project).sorted(by: { $0.name < $1.name }) {
            let last = try await store.recentIDListChanges(project: project, name: l.name, limit: 1).first
            items.append(.init(name: l.name, href: WebLink.console("id_lists", l.name), size: l.count,
                               updated: WebFormat.time(l.updatedAt), lastSource: last?.source ?? "—"))
        }
        return try render("idlists", IDListsView(items: items), s, title: "ID lists", nav: "id_lists")
    }

    func idListPage(_ name: String, _ s: ConsoleSession) async throws -> Response {
        guard let l = try await store.idList(project: project, name: name) else {
            throw StoreError.notFound("There is no ID list named ‘\(name)’.")
        }
        let changes = try await store.recentIDListChanges(project: project, name: name, limit: 50).map { c in
            IDListView.Change(time: WebFormat.time(c.time), op: c.op == "+" ? "added" : "removed", id: c.id, source: c.source)
        }
        let view = IDListView(name: l.name, apiPath: WebLink.api("id_lists", l.name, "ids"), size: l.count, changes: changes)
        return try render("idlist", view, s, title: l.name, nav: "id_lists")
    }
}
