/// A parsed JSON value.
///
/// Numbers keep their raw text exactly as written (`.number("-1.5e3")`) so that values round-trip
/// byte for byte and no precision is lost; use `int64Value` (or parse the text yourself) to convert.
/// Objects keep their members in document order, duplicates included.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// Raw number text as written in the document, e.g. "-1.5e3".
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order (duplicate keys are kept).
    case object([(key: String, value: JSONValue)])

    /// Structural equality. Numbers compare by their raw text ("1.0" != "1"), objects member by member
    /// in order (so key order matters).
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null):
            return true
        case let (.bool(a), .bool(b)):
            return a == b
        case let (.number(a), .number(b)):
            return a == b
        case let (.string(a), .string(b)):
            return a == b
        case let (.array(a), .array(b)):
            return a == b
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            for i in a.indices where a[i].key != b[i].key || a[i].value != b[i].value {
                return false
            }
            return true
        default:
            return false
        }
    }

    /// The value of the first member named `key`; nil if this is not an object or has no such member.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key == key {
            return member.value
        }
        return nil
    }

    /// The element at `index`; nil if this is not an array or the index is out of range.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// The string payload of a `.string`; nil for every other kind.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value of a `.number` written as an integer (`-?(0|[1-9][0-9]*)`, no fraction or exponent)
    /// that fits in Int64; nil otherwise.
    public var int64Value: Int64? {
        guard case .number(let text) = self else { return nil }
        var digits = 0
        for (index, byte) in text.utf8.enumerated() {
            if index == 0 && byte == UInt8(ascii: "-") { continue }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            digits += 1
        }
        guard digits > 0 else { return nil }
        return Int64(text)
    }
}
