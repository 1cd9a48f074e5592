import HTTPTypes
import Hummingbird

/// The security headers of every response, in one place: no response is sniffed as another type,
/// and HTML (the console) is never framed, loads scripts only from this server and sends no
/// referrer to other sites. A header a handler set itself is kept.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var html: [(HTTPField.Name, String)] {
        [
            (HTTPField.Name("X-Frame-Options")!, "DENY"),
            (HTTPField.Name("Referrer-Policy")!, "same-origin"),
            (HTTPField.Name("Content-Security-Policy")!,
             "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"),
        ]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        let nosniff = HTTPField.Name("X-Content-Type-Options")!
        if response.headers[nosniff] == nil { response.headers[nosniff] = "nosniff" }
        if response.headers[.contentType]?.hasPrefix("text/html") == true {
            for (name, value) in Self.html where response.headers[name] == nil { response.headers[name] = value }
        }
        return response
    }
}
