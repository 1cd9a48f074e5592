import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes connections that are too slow to send a request: the headers (or, between requests on a
/// kept-alive connection, the next request's headers) must arrive within `header`, and the body
/// within `body` after them. Time spent answering is not limited, so long-polls and live streams
/// are unaffected.
struct ConnectionDeadlines: Sendable {
    let header: Duration
    let body: Duration

    func handler() -> Handler { Handler(header: TimeAmount(header), body: TimeAmount(body)) }

    final class Handler: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart

        let header: TimeAmount
        let body: TimeAmount
        private var deadline: Scheduled<Void>?
        /// Requests read whose answer has not been written to the end yet.
        private var unanswered = 0

        init(header: TimeAmount, body: TimeAmount) {
            self.header = header
            self.body = body
        }

        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { arm(context, header) }
        }

        func handlerRemoved(context: ChannelHandlerContext) { disarm() }

        func channelActive(context: ChannelHandlerContext) {
            arm(context, header)
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            disarm()
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head:
                unanswered += 1
                arm(context, body)
            case .body: break
            case .end: disarm()
            }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            // After an answer, the connection waits for the next request's headers.
            if case .end = unwrapOutboundIn(data) {
                unanswered = max(0, unanswered - 1)
                if unanswered == 0 { arm(context, header) }
            }
            context.write(data, promise: promise)
        }

        private func arm(_ context: ChannelHandlerContext, _ after: TimeAmount) {
            deadline?.cancel()
            let channel = context.channel
            deadline = context.eventLoop.scheduleTask(in: after) { channel.close(promise: nil) }
        }

        private func disarm() {
            deadline?.cancel()
            deadline = nil
        }
    }
}

extension TimeAmount {
    init(_ d: Duration) {
        let (seconds, attoseconds) = d.components
        self = .nanoseconds(min(max(seconds, 0), 100 * 365 * 86_400) * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
