import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import VaneCore
import VanePulse
import VaneSegment
import VaneStats
import VaneStore

/// The web console under /console: server-rendered pages over the same store and services as the
/// JSON API. Pages read; edits go through the JSON API (`/console/v1`) with the session cookie and
/// the page's CSRF token, so every change is validated and audited in one place. The few classic
/// form posts (setup, sign-in, sign-out, adding a user) carry a CSRF token too.
///
/// This file routes and renders; each page family is in `Pages/` with its typed view model (a
/// struct whose fields are the names its template reads).
struct WebController: Sendable {
    /// The project every page shows (the console manages one).
    let project = VaneRequestContext.consoleProject
    let store: any VaneStore
    let auth: WebAuth
    let library: MustacheLibrary
    let cache: ConfigCache
    let inbound: SegmentInbound
    let exporter: SegmentExporter
    let body: BodyReader
    let resolver: KeyResolver
    let publicURL: String?
    static let formCookie = "vane_form"

    typealias Context = VaneRequestContext
    typealias PageHandler = @Sendable (Request, Context, ConsoleSession) async throws -> Response

    func register(on router: Router<Context>) {
        // The server's root leads a person who opens it in a browser to the console.
        router.get("/") { _, _ in Self.redirect("/console") }
        // The stylesheet and scripts are files under Resources/, compiled into the binary.
        let css = String(decoding: PackageResources.vane_css, as: UTF8.self)
        router.get("console/assets/vane.css") { _, _ in Self.asset(css, type: "text/css; charset=utf-8") }
        for (path, bytes) in [
            ("vane.js", PackageResources.vane_js), ("dom.js", PackageResources.dom_js), ("rule-builder.js", PackageResources.rule_builder_js),
            ("groups-editor.js", PackageResources.groups_editor_js),
            ("experiment-setup.js", PackageResources.experiment_setup_js),
        ] {
            let script = String(decoding: bytes, as: UTF8.self)
            router.get(RouterPath("console/assets/" + path)) { _, _ in Self.asset(script, type: "text/javascript; charset=utf-8") }
        }
        router.get("console/setup") { r, _ in try await setupPage(r, fields: [:], errors: [:], error: nil) }
        router.post("console/setup") { r, _ in try await setup(r) }
        router.get("console/login") { r, _ in try await signinPage(r, error: nil, email: "", status: .ok) }
        router.post("console/login") { r, c in try await signin(r, c) }
        router.post("console/logout") { r, _ in try await signout(r) }

        @Sendable func respond(_ r: Request, _ c: Context, _ handler: PageHandler) async throws -> Response {
            guard let s = try await auth.session(r) else {
                if try await store.userCount() == 0 { return Self.redirect("/console/setup") }
                let next = r.uri.path + (r.uri.query.map { "?" + $0 } ?? "")
                return Self.redirect(WebLink.query("/console/login", ["next": next]))
            }
            do {
                return try await handler(r, c, s)
            } catch let e as StoreError where e.code == .notFound {
                return try render("error", MessageView(heading: "Not found", message: e.description), s, status: .notFound, title: "Not found")
            } catch let e as APIError where e.status == .notFound {
                return try render("error", MessageView(heading: "Not found", message: e.message), s, status: .notFound, title: "Not found")
            } catch let e as ValidationError {
                return try render("error", MessageView(heading: "This page cannot be shown", message: e.description), s,
                                  status: .badRequest, title: "Cannot show")
            }
        }
        func page(_ path: RouterPath, _ handler: @escaping PageHandler) {
            router.get(path) { r, c in try await respond(r, c, handler) }
        }

        page("console") { r, _, s in try await overview(r, s) }
        for kind in [EntityKind.gate, .dynamicConfig, .segment, .layer, .experiment, .holdout] {
            page(RouterPath("console/\(kind.collection)")) { r, _, s in try await list(kind, s) }
            page(RouterPath("console/\(kind.collection)/{name}")) { r, c, s in try await detail(kind, try pathParameter(c, "name"), r, s) }
        }
        page("console/experiments/{name}/results") { r, c, s in
            try await resultsPage(.experiment, try pathParameter(c, "name"), r, s)
        }
        page("console/gates/{name}/results") { r, c, s in try await resultsPage(.gate, try pathParameter(c, "name"), r, s) }
        page("console/holdouts/{name}/results") { r, c, s in try await resultsPage(.holdout, try pathParameter(c, "name"), r, s) }
        page("console/metrics") { _, _, s in try await metricsPage(s) }
        page("console/metrics/{name}") { r, c, s in try await metricPage(try pathParameter(c, "name"), r.queryItems(), s) }
        page("console/events") { r, _, s in try await eventsPage(r, s) }
        page("console/events/{id}") { _, c, s in try await eventPage(try pathParameter(c, "id"), s) }
        page("console/id_lists") { _, _, s in try await idListsPage(s) }
        page("console/id_lists/{name}") { _, c, s in try await idListPage(try pathParameter(c, "name"), s) }
        page("console/integrations/segment") { r, _, s in try await segmentPage(r, s) }
        page("console/settings") { r, _, s in try await settingsPage(r, s, form: [:], errors: [:], error: nil) }
        // Any other console address is a page that does not exist (the API's keep their JSON 404).
        router.get("console/**") { r, c in
            let path = r.uri.path
            if path.hasPrefix("/console/v1/") || path.hasPrefix("/console/assets/") { throw HTTPError(.notFound) }
            return try await respond(r, c) { _, _, _ in throw StoreError.notFound("There is no console page at \(path).") }
        }
        router.post("console/settings/users") { r, _ in
            guard let s = try await auth.session(r) else { return Self.redirect("/console/login") }
            return try await createUser(r, s)
        }

        // JSON API additions the pages use, with the API's authentication.
        router.consoleAPI(resolver, .everyone).post("gates/{name}/evaluate") { r, c in try await evaluate(r, c) }
        router.consoleAPI(resolver, .admins).post("integrations/segment/inbound/test_event") { _, c in try await sendTestEvent(c) }
    }

    // MARK: - Responses

    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String, cookies: [Cookie] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        var response = Response(status: .seeOther, headers: headers)
        for c in cookies { response.setCookie(c) }
        return response
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok, cookies: [Cookie] = []) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"  // security headers: SecurityHeadersMiddleware
        var response = Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        for c in cookies { response.setCookie(c) }
        return response
    }

    /// Renders a page inside the layout, with the signed-in user and CSRF token.
    func render(
        _ template: String, _ view: some Sendable, _ s: ConsoleSession?, status: HTTPResponse.Status = .ok,
        title: String, nav: String? = nil, cookies: [Cookie] = []
    ) throws -> Response {
        let chrome = PageChrome(title: title, session: s, nav: nav)
        guard let text = library.render(PageContext(view: view, chrome: chrome), withTemplate: template) else {
            throw APIError(.internalServerError, "missing template \(template)")
        }
        return Self.html(text, status: status, cookies: cookies)
    }
}

/// What the layout shows around every page. Flat names: a `user` section would shadow the page's
/// own `name`, `email`, … fields.
struct PageChrome: Sendable {
    let title: String
    var signedIn = false
    var userEmail = "", userRole = ""
    var csrf = ""
    var canEdit = false, isAdmin = false
    /// The sidebar item marked as the current page.
    var nav: [String: Bool] = [:]

    init(title: String, session s: ConsoleSession?, nav: String?) {
        self.title = title
        if let s {
            signedIn = true
            userEmail = s.user.email
            userRole = s.user.role.rawValue
            csrf = s.csrfToken
            canEdit = s.user.role >= .editor
            isAdmin = s.user.role == .admin
        }
        if let nav { self.nav = [nav: true] }
    }
}

/// A page's view model and the layout's chrome as one Mustache context: a name is looked up in the
/// view model first (a nil optional counts as absent), then in the chrome.
struct PageContext: MustacheParent {
    let view: Any
    let chrome: PageChrome

    func child(named name: String) -> Any? {
        Self.field(name, of: view) ?? Self.field(name, of: chrome)
    }

    static func field(_ name: String, of object: Any) -> Any? {
        guard let value = Mirror(reflecting: object).children.first(where: { $0.label == name })?.value else { return nil }
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first?.value
    }
}

/// A page that only says something: errors and not-found pages.
struct MessageView: Sendable {
    let heading: String
    let message: String
}
