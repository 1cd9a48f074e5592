import Testing
@testable import VaneServer

@Suite struct WebLinkTests {
    @Test func pathSegmentsStayOneSegment() {
        #expect(WebLink.console("gates", "new gate") == "/console/gates/new%20gate")
        #expect(WebLink.console("metrics", "sum:a/b?c#d") == "/console/metrics/sum%3Aa%2Fb%3Fc%23d")
        #expect(WebLink.console("metrics", "é-_.~") == "/console/metrics/%C3%A9-_.~")
    }

    @Test func queryValuesAreEncodedInKeyOrder() {
        #expect(WebLink.query("/console/events", ["q": "a&b=c", "cursor": "x y"]) == "/console/events?cursor=x%20y&q=a%26b%3Dc")
        #expect(WebLink.query("/console/login", [:]) == "/console/login")
        #expect(WebLink.query("/console/login", ["next": "/console/gates?x=1"]) == "/console/login?next=%2Fconsole%2Fgates%3Fx%3D1")
    }
}
