import FastJSON
import Foundation

/// A teacher's answer to one chat-completions request.
public struct ChatReply: Sendable, Equatable {
    /// The whole reply body as received.
    public var raw: String
    /// `choices[0].message.content`.
    public var content: String
    /// `choices[0].finish_reason` (`stop`, `length`, …).
    public var finishReason: String?
    public var promptTokens: Int64?
    public var completionTokens: Int64?

    public init(raw: String, content: String, finishReason: String?, promptTokens: Int64?, completionTokens: Int64?) {
        self.raw = raw; self.content = content; self.finishReason = finishReason
        self.promptTokens = promptTokens; self.completionTokens = completionTokens
    }
}

/// What one HTTP attempt amounted to.
public enum AttemptVerdict: Equatable, Sendable {
    case answered(ChatReply)
    /// Worth another attempt (rate limit, server error, timeout, broken reply).
    case retry(String, retryAfter: Double?)
    /// This request will not succeed (other 4xx): the server's message is kept.
    case fail(String, raw: String?)
    /// No request will succeed (bad key, wrong URL): the run stops, the queue stays as it is.
    case fatal(String)
}

public enum ChatReplyParser {
    /// Judges a finished HTTP exchange that reached the server (`status` > 0).
    public static func verdict(status: Int, body: [UInt8], retryAfter: Double?) -> AttemptVerdict {
        let raw = String(decoding: body, as: UTF8.self)
        switch status {
        case 200:
            let value: JSONValue
            do { value = try JSONParser.parse(body) } catch {
                return .retry("malformed reply: \(error)", retryAfter: nil)
            }
            guard let choice = value["choices"]?[0] else {
                return .retry("reply without choices", retryAfter: nil)
            }
            let finish = choice["finish_reason"]?.stringValue
            guard let content = choice["message"]?["content"]?.stringValue else {
                // A refusal or a content filter answers without text: asking again changes nothing.
                return .fail("reply without message content (finish_reason \(finish ?? "null"))", raw: raw)
            }
            return .answered(ChatReply(raw: raw, content: content, finishReason: finish,
                                       promptTokens: value["usage"]?["prompt_tokens"]?.int64Value,
                                       completionTokens: value["usage"]?["completion_tokens"]?.int64Value))
        case 408, 409, 425, 429, 500...599:
            return .retry("HTTP \(status)\(serverMessage(body).map { ": \($0)" } ?? "")", retryAfter: retryAfter)
        case 401, 403, 404:
            return .fatal("HTTP \(status)\(serverMessage(body).map { ": \($0)" } ?? "")")
        default:
            return .fail("HTTP \(status)\(serverMessage(body).map { ": \($0)" } ?? "")", raw: raw)
        }
    }

    /// `error.message` of an OpenAI-style error body, or a short prefix of a plain one.
    static func serverMessage(_ body: [UInt8]) -> String? {
        if let value = try? JSONParser.parse(body), let message = value["error"]?["message"]?.stringValue {
            return message
        }
        let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
