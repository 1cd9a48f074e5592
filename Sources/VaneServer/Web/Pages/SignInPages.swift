import Foundation
import HTTPTypes
import Hummingbird
import VaneCore

// First-run setup, sign-in and sign-out: the pages shown before a session exists.

struct SetupView: Sendable {
    let formToken: String
    let email: String
    let name: String
    /// A message per form field that was refused.
    let errors: [String: String]
    let error: String
}

struct SignInView: Sendable {
    let formToken: String
    let error: String
    let email: String
    /// The console page to return to after signing in.
    let next: String
}

extension WebController {
    /// A token for forms shown before sign-in, checked against a cookie (double submit).
    func formToken(_ r: Request) -> (String, Cookie?) {
        if let t = r.cookies[Self.formCookie]?.value, t.count >= 20 { return (t, nil) }
        let t = StatsigHash.randomToken(length: 32)
        return (t, Cookie(name: Self.formCookie, value: t, path: "/console", secure: auth.secureCookies, httpOnly: true, sameSite: .strict))
    }

    func checkFormToken(_ r: Request, _ form: [String: String]) throws {
        guard let cookie = r.cookies[Self.formCookie]?.value, let sent = form["_csrf"], cookie == sent else {
            throw APIError(.forbidden, "this form has expired or was not sent from Vane's console: reload the page and try again")
        }
    }

    func setupPage(_ r: Request, fields: [String: String], errors: [String: String], error: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        if try await store.userCount() > 0 { return Self.redirect("/console/login") }
        let (token, cookie) = formToken(r)
        return try render("setup", SetupView(formToken: token, email: fields["email"] ?? "", name: fields["name"] ?? "",
                                             errors: errors, error: error ?? ""),
                          nil, status: status, title: "Set up", cookies: cookie.map { [$0] } ?? [])
    }

    func setup(_ r: Request) async throws -> Response {
        let form = try await body.form(r)
        try checkFormToken(r, form)
        guard try await store.userCount() == 0 else {
            throw APIError(.conflict, "Vane already has an administrator: sign in instead")
        }
        do {
            let user = try await auth.createUser(
                email: form["email"] ?? "", name: form["name"] ?? "", password: form["password"] ?? "", role: .admin,
                actor: "first-run setup")
            return Self.redirect("/console", cookies: [try await auth.signIn(user)])
        } catch let e as FieldError {
            return try await setupPage(r, fields: form, errors: [e.field: e.message], error: nil, status: .badRequest)
        }
    }

    func signinPage(_ r: Request, error: String?, email: String, status: HTTPResponse.Status, next: String? = nil) async throws -> Response {
        if try await store.userCount() == 0 { return Self.redirect("/console/setup") }
        let (token, cookie) = formToken(r)
        let next = next ?? r.query("next") ?? ""
        return try render("signin", SignInView(formToken: token, error: error ?? "", email: email, next: next),
                          nil, status: status, title: "Sign in", cookies: cookie.map { [$0] } ?? [])
    }

    func signin(_ r: Request, _ c: Context) async throws -> Response {
        let form = try await body.form(r)
        try checkFormToken(r, form)
        let email = (form["email"] ?? "").trimmingCharacters(in: .whitespaces)
        let password = form["password"] ?? ""
        let controls = resolver.controls
        let (account, address) = ("account:" + email.lowercased(), c.remoteAddress)
        let now = Clock.nowMs()
        if let wait = [controls.signInByAccount.wait(account, now: now), controls.signInByAddress.wait(address, now: now)]
            .compactMap({ $0 }).max() {
            var page = try await signinPage(
                r, error: "Too many failed sign-ins. Try again in \(retryAfterSeconds(wait)) seconds.", email: email,
                status: .tooManyRequests, next: form["next"])
            page.headers[.retryAfter] = String(retryAfterSeconds(wait))
            return page
        }
        // The password is checked against a decoy hash when the account does not exist, so an
        // unknown email takes as long to refuse as a wrong password.
        let user = try await store.user(email: email)
        let matches = WebAuth.verify(password, hash: user?.passwordHash ?? WebAuth.decoyHash)
        guard let user, user.disabledAt == nil, matches else {
            controls.signInByAccount.recordFailure(account, now: now)
            controls.signInByAddress.recordFailure(address, now: now)
            return try await signinPage(r, error: "Wrong email or password.", email: email, status: .unauthorized, next: form["next"])
        }
        controls.signInByAccount.recordSuccess(account)
        // Only local paths: never redirect off-site after sign-in.
        var next = form["next"] ?? ""
        if !next.hasPrefix("/console") || next.hasPrefix("//") { next = "/console" }
        return Self.redirect(next, cookies: [try await auth.signIn(user)])
    }

    func signout(_ r: Request) async throws -> Response {
        let form = try await body.form(r)
        guard let s = try await auth.session(r) else { return Self.redirect("/console/login") }
        guard WebAuth.csrfMatches(form["_csrf"], s) else {
            throw APIError(.forbidden, "missing or wrong CSRF token")
        }
        return Self.redirect("/console/login", cookies: [try await auth.signOut(r)])
    }
}
