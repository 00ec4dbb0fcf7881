import Foundation

/// A place in a TOML document: 1-based line, and 1-based column counted in Unicode scalars.
public struct TOMLPosition: Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// A TOML date, time or date-time, kept as text: Foundation's `Date` cannot hold the local kinds.
public struct TOMLDateTime: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case offsetDateTime, localDateTime, localDate, localTime
    }

    /// The text as written, except that the date/time separator is always `T` and a `z` offset is `Z`.
    public var text: String
    public var kind: Kind

    public init(text: String, kind: Kind) {
        self.text = text
        self.kind = kind
    }

    public var description: String { text }
}

public indirect enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case bool(Bool)
    case dateTime(TOMLDateTime)
    case array([TOMLValue])
    case table(TOMLTable)

    /// The kind of value with its article, for messages: "expected a float, found a string".
    public var typeName: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a float"
        case .bool: return "a boolean"
        case .dateTime: return "a date-time"
        case .array: return "an array"
        case .table: return "a table"
        }
    }

    /// Structural equality; NaN equals NaN so that a parsed document equals itself.
    public static func == (lhs: TOMLValue, rhs: TOMLValue) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case let (.float(a), .float(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.bool(a), .bool(b)): return a == b
        case let (.dateTime(a), .dateTime(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.table(a), .table(b)): return a == b
        default: return false
        }
    }
}

extension TOMLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: TOMLValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, TOMLValue)...) {
        var table = TOMLTable()
        for (key, value) in elements { table.append(key, value, at: TOMLPosition(line: 1, column: 1)) }
        self = .table(table)
    }
}

/// A table: keys in definition order, each with the position where it was written.
/// Equality compares contents only: key order and positions are ignored.
public struct TOMLTable: Equatable, Sendable {
    struct Entry: Sendable {
        var value: TOMLValue
        var position: TOMLPosition
    }

    public private(set) var keys: [String] = []
    private var entries: [String: Entry] = [:]
    /// Where the table was opened: its `[header]`, `{` of an inline table, or first dotted key; (1,1) for the root.
    public var position: TOMLPosition

    public init(position: TOMLPosition = TOMLPosition(line: 1, column: 1)) {
        self.position = position
    }

    public subscript(key: String) -> TOMLValue? { entries[key]?.value }

    /// Where `key` (its first character) was written.
    public func position(of key: String) -> TOMLPosition? { entries[key]?.position }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// Adds a key, or replaces the value of an existing one (which keeps its place).
    mutating func append(_ key: String, _ value: TOMLValue, at position: TOMLPosition) {
        if entries[key] == nil { keys.append(key) }
        entries[key] = Entry(value: value, position: position)
    }

    public static func == (lhs: TOMLTable, rhs: TOMLTable) -> Bool {
        lhs.entries.count == rhs.entries.count
            && lhs.entries.allSatisfy { key, entry in rhs.entries[key]?.value == entry.value }
    }
}

extension TOMLTable: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, TOMLValue)...) {
        self.init()
        for (key, value) in elements { append(key, value, at: position) }
    }
}

public struct TOMLError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message`, or `file: message` for the file as a whole (line 0).
    public var description: String { line == 0 ? "\(file): \(message)" : "\(file):\(line):\(column): \(message)" }
}

extension TOMLError: LocalizedError {
    public var errorDescription: String? { description }
}
