import Foundation

public enum TOML {
    /// Parses a TOML 1.0 document; `file` names it in errors.
    public static func parse(_ text: String, file: String = "<input>") throws -> TOMLTable {
        var parser = Parser(Array(text.unicodeScalars), file: file)
        return try parser.parseDocument()
    }

    /// Reads and parses a UTF-8 TOML file. A file that cannot be read is reported at line 0, column 0.
    public static func parse(contentsOfFile path: String) throws -> TOMLTable {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TOMLError(file: path, line: 0, column: 0, message: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw TOMLError(file: path, line: 0, column: 0, message: "is a directory, not a TOML file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TOMLError(file: path, line: 0, column: 0, message: "cannot read the file (permission denied?)")
        }
        var parser = Parser(try decodeUTF8(data, file: path), file: path)
        return try parser.parseDocument()
    }

    /// `key` as written in a TOML key path: bare when it can be, else a quoted string.
    public static func formatKey(_ key: String) -> String {
        if !key.isEmpty && key.unicodeScalars.allSatisfy(isBareKeyChar) { return key }
        var out = "\""
        for c in key.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where isControl(c): out += String(format: "\\u%04X", c.value)
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    /// Decodes UTF-8 ourselves so that invalid bytes can be reported with their line and column.
    static func decodeUTF8(_ data: Data, file: String) throws -> [Unicode.Scalar] {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(data.count)
        var bytes = data.makeIterator()
        var decoder = UTF8()
        var line = 1, column = 1
        while true {
            switch decoder.decode(&bytes) {
            case .scalarValue(let c):
                scalars.append(c)
                if c == "\n" { line += 1; column = 1 } else { column += 1 }
            case .emptyInput:
                return scalars
            case .error:
                throw TOMLError(file: file, line: line, column: column, message: "invalid UTF-8 (TOML files must be UTF-8 encoded)")
            }
        }
    }
}

func isBareKeyChar(_ c: Unicode.Scalar) -> Bool {
    switch c {
    case "A"..."Z", "a"..."z", "0"..."9", "_", "-": return true
    default: return false
    }
}

/// Control characters TOML forbids in strings and comments (tab is allowed; callers handle newline).
func isControl(_ c: Unicode.Scalar) -> Bool { (c.value < 0x20 && c != "\t") || c.value == 0x7F }

private let simpleEscapes: [Unicode.Scalar: Unicode.Scalar] = [
    "b": "\u{08}", "t": "\t", "n": "\n", "f": "\u{0C}", "r": "\r", "\"": "\"", "\\": "\\",
]

private func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

/// Characters of unquoted values: numbers, booleans, inf/nan and date-times.
private func isTokenChar(_ c: Unicode.Scalar) -> Bool { isBareKeyChar(c) || c == "+" || c == "." || c == ":" }

private func describe(_ c: Unicode.Scalar?) -> String {
    guard let c else { return "end of file" }
    if c == "\n" { return "end of line" }
    if isControl(c) { return String(format: "U+%04X", c.value) }
    return "'\(c)'"
}

/// A dotted key for messages: "a.b", or a."b c" when a component needs quotes.
private func display(_ names: [String]) -> String {
    let path = names.map(TOML.formatKey).joined(separator: ".")
    return path.contains("\"") ? path : "\"\(path)\""
}

private struct KeyPart {
    let name: String
    let position: TOMLPosition
}

/// A table under construction; the parser needs reference semantics and the redefinition state.
private final class Node {
    enum Kind: Equatable {
        case implicit      // only named as a parent in a [header]: a later header may still define it
        case header        // defined by a [header] or [[header]] (the root counts as one)
        case dotted(Int)   // created by dotted keys in that section; only that section may extend it
    }
    enum Content {
        case value(TOMLValue)  // inline tables and static arrays are values: immutable
        case table(Node)
        case tables([Node])    // an array of tables, appended to by [[header]]
    }
    struct Item {
        var content: Content
        var position: TOMLPosition
    }

    var kind: Kind
    var position: TOMLPosition
    var line: Int  // where the table was defined, for messages
    var keys: [String] = []
    var items: [String: Item] = [:]

    init(_ kind: Kind, _ position: TOMLPosition) {
        self.kind = kind
        self.position = position
        self.line = position.line
    }

    func insert(_ key: String, _ content: Content, at position: TOMLPosition) {
        keys.append(key)
        items[key] = Item(content: content, position: position)
    }

    func table() -> TOMLTable {
        var table = TOMLTable(position: position)
        for key in keys {
            let item = items[key]!
            switch item.content {
            case .value(let v): table.append(key, v, at: item.position)
            case .table(let node): table.append(key, .table(node.table()), at: item.position)
            case .tables(let nodes): table.append(key, .array(nodes.map { .table($0.table()) }), at: item.position)
            }
        }
        return table
    }

    /// What an existing item is and where it was defined, for redefinition messages.
    static func describe(_ item: Item) -> (what: String, line: Int) {
        switch item.content {
        case .value(.table): return ("an inline table", item.position.line)
        case .value(let v): return (v.typeName, item.position.line)
        case .table(let node): return ("a table", node.line)
        case .tables: return ("an array of tables", item.position.line)
        }
    }
}

private struct Parser {
    private let s: [Unicode.Scalar]
    private let file: String
    private var i = 0
    private var line = 1
    private var lineStart = 0
    private var sections = 0  // ids for dotted-key scopes: the root is 0, then each header and inline table
    private var depth = 0

    init(_ scalars: [Unicode.Scalar], file: String) {
        // CRLF becomes LF up front; a lone CR stays and is rejected as a control character.
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for (k, c) in scalars.enumerated() where !(c == "\r" && k + 1 < scalars.count && scalars[k + 1] == "\n") {
            out.append(c)
        }
        s = out
        self.file = file
    }

    // MARK: Scanning

    private var peek: Unicode.Scalar? { i < s.count ? s[i] : nil }
    private func peek(_ k: Int) -> Unicode.Scalar? { i + k < s.count ? s[i + k] : nil }
    private var pos: TOMLPosition { TOMLPosition(line: line, column: i - lineStart + 1) }

    private mutating func advance(_ n: Int = 1) {
        for _ in 0..<n {
            if s[i] == "\n" { line += 1; lineStart = i + 1 }
            i += 1
        }
    }

    private func fail(_ message: String, at p: TOMLPosition? = nil) -> TOMLError {
        let p = p ?? pos
        return TOMLError(file: file, line: p.line, column: p.column, message: message)
    }

    private mutating func skipWhitespace() {
        while let c = peek, c == " " || c == "\t" { i += 1 }
    }

    private mutating func skipComment() throws {
        i += 1
        while let c = peek, c != "\n" {
            if isControl(c) { throw fail("control character \(describe(c)) is not allowed in a comment") }
            i += 1
        }
    }

    /// Whitespace, newlines and comments, as allowed between array elements.
    private mutating func skipBlank() throws {
        while let c = peek {
            if c == " " || c == "\t" || c == "\n" { advance() } else if c == "#" { try skipComment() } else { return }
        }
    }

    private mutating func expectLineEnd(after what: String) throws {
        skipWhitespace()
        if peek == "#" { try skipComment() }
        guard let c = peek else { return }
        guard c == "\n" else { throw fail("expected end of line after \(what), found \(describe(c))") }
        advance()
    }

    // MARK: Document structure

    mutating func parseDocument() throws -> TOMLTable {
        if peek == "\u{FEFF}" { i = 1; lineStart = 1 }
        let root = Node(.header, TOMLPosition(line: 1, column: 1))
        var current = root
        var section = 0
        while true {
            skipWhitespace()
            guard let c = peek else { break }
            if c == "\n" { advance(); continue }
            if c == "#" { try skipComment(); continue }
            if c == "[" {
                current = try parseHeader(root: root)
                sections += 1
                section = sections
                try expectLineEnd(after: "table header")
            } else {
                try parseKeyValue(into: current, section: section)
                try expectLineEnd(after: "value")
            }
        }
        return root.table()
    }

    private mutating func parseHeader(root: Node) throws -> Node {
        let open = pos
        i += 1
        let isArray = peek == "["
        if isArray { i += 1 }
        let key = try parseKey()
        guard peek == "]", !isArray || peek(1) == "]" else {
            let close = isArray ? "']]'" : "']'"
            throw fail("expected \(close) at end of table header, found \(describe(peek))")
        }
        i += isArray ? 2 : 1
        return try openTable(key, root: root, isArray: isArray, at: open)
    }

    /// Finds or creates the table a header names, enforcing the rules against redefinition.
    private func openTable(_ key: [KeyPart], root: Node, isArray: Bool, at open: TOMLPosition) throws -> Node {
        let path = key.map { TOML.formatKey($0.name) }.joined(separator: ".")
        let name = isArray ? "array of tables [[\(path)]]" : "table [\(path)]"
        var node = root
        for (n, part) in key.dropLast().enumerated() {
            guard let item = node.items[part.name] else {
                let child = Node(.implicit, part.position)
                node.insert(part.name, .table(child), at: part.position)
                node = child
                continue
            }
            switch item.content {
            case .table(let child): node = child
            case .tables(let elements): node = elements[elements.count - 1]
            case .value:
                let (what, line) = Node.describe(item)
                throw fail("cannot define \(name): key \(display(key[...n].map(\.name))) is already defined as \(what) at line \(line)", at: part.position)
            }
        }
        let last = key[key.count - 1]
        guard let item = node.items[last.name] else {
            let table = Node(.header, open)
            node.insert(last.name, isArray ? .tables([table]) : .table(table), at: last.position)
            return table
        }
        let (what, line) = Node.describe(item)
        switch (item.content, isArray) {
        case (.tables(let elements), true):
            let table = Node(.header, open)
            node.items[last.name]!.content = .tables(elements + [table])
            return table
        case (.value(.array), true):
            throw fail("cannot append to static array \(display(key.map(\.name))) (defined at line \(line)) with [[\(path)]]", at: open)
        case (.table(let table), false) where table.kind == .implicit:
            table.kind = .header
            table.position = open
            table.line = open.line
            return table
        case (.table(let table), false) where table.kind == .header:
            throw fail("duplicate \(name) (first defined at line \(table.line))", at: open)
        case (.table(let table), false) where table.kind != .header:
            throw fail("cannot define \(name): already defined by dotted keys at line \(table.line)", at: open)
        default:
            throw fail("cannot define \(name): already defined as \(what) at line \(line)", at: open)
        }
    }

    private mutating func parseKey() throws -> [KeyPart] {
        var parts: [KeyPart] = []
        while true {
            skipWhitespace()
            let start = pos
            guard let c = peek else { throw fail("expected a key, found end of file") }
            let name: String
            if isBareKeyChar(c) {
                var v = String.UnicodeScalarView()
                while let c = peek, isBareKeyChar(c) { v.append(c); i += 1 }
                name = String(v)
            } else if c == "\"" || c == "'" {
                name = try parseString(multiline: false)
            } else {
                throw fail("expected a key, found \(describe(c))")
            }
            parts.append(KeyPart(name: name, position: start))
            skipWhitespace()
            guard peek == "." else { return parts }
            i += 1
        }
    }

    private mutating func parseKeyValue(into table: Node, section: Int) throws {
        let key = try parseKey()
        guard peek == "=" else {
            throw fail("expected '=' after key \(display(key.map(\.name))), found \(describe(peek))")
        }
        i += 1
        skipWhitespace()
        let parent = try dottedParent(key, in: table, section: section)
        let last = key[key.count - 1]
        if let existing = parent.items[last.name] {
            throw fail("duplicate key \(display(key.map(\.name))) (first defined at line \(Node.describe(existing).line))", at: key[0].position)
        }
        let value = try parseValue()
        parent.insert(last.name, .value(value), at: last.position)
    }

    /// The table that the last part of a dotted key goes into, creating the tables before it.
    private func dottedParent(_ key: [KeyPart], in table: Node, section: Int) throws -> Node {
        var node = table
        for (n, part) in key.dropLast().enumerated() {
            guard let item = node.items[part.name] else {
                let child = Node(.dotted(section), part.position)
                node.insert(part.name, .table(child), at: part.position)
                node = child
                continue
            }
            let shown = display(key[...n].map(\.name))
            switch item.content {
            case .table(let child) where child.kind == .dotted(section):
                node = child
            case .table(let child) where child.kind == .implicit:
                // From here on a header may no longer define it, as if the dotted key had created it.
                child.kind = .dotted(section)
                child.line = part.position.line
                node = child
            case .table(let child):
                throw fail("cannot add keys to table \(shown) with a dotted key: it was defined at line \(child.line)", at: part.position)
            case .tables:
                throw fail("cannot add keys to array of tables \(shown) with a dotted key (defined at line \(item.position.line))", at: part.position)
            case .value:
                let (what, line) = Node.describe(item)
                throw fail("key \(shown) is already defined as \(what) at line \(line)", at: part.position)
            }
        }
        return node
    }

    // MARK: Values

    private mutating func parseValue() throws -> TOMLValue {
        guard let c = peek else { throw fail("expected a value, found end of file") }
        switch c {
        case "\"", "'": return .string(try parseString(multiline: peek(1) == c && peek(2) == c))
        case "[": return try parseArray()
        case "{": return try parseInlineTable()
        case _ where isTokenChar(c): return try parseToken()
        default: throw fail("expected a value, found \(describe(c))")
        }
    }

    /// Basic ("...", """...""") and literal ('...', '''...''') strings; the opening delimiter is at `i`.
    private mutating func parseString(multiline: Bool) throws -> String {
        let open = pos
        let quote = s[i]
        advance(multiline ? 3 : 1)
        if multiline && peek == "\n" { advance() }
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek else { throw fail("unterminated string", at: open) }
            switch c {
            case quote:
                if !multiline { i += 1; return String(out) }
                var n = 0
                while peek(n) == quote { n += 1 }
                // Up to two quotes may precede the closing delimiter ("""a""""" is a"").
                let content = n >= 3 ? min(n - 3, 2) : n
                for _ in 0..<content { out.append(quote) }
                i += content
                if n >= 3 { i += 3; return String(out) }
            case "\\" where quote == "\"":
                try parseEscape(into: &out, multiline: multiline, open: open)
            case "\n":
                guard multiline else { throw fail("unterminated string", at: open) }
                out.append(c)
                advance()
            default:
                if isControl(c) { throw fail("control character \(describe(c)) is not allowed in a string") }
                out.append(c)
                i += 1
            }
        }
    }

    private mutating func parseEscape(into out: inout String.UnicodeScalarView, multiline: Bool, open: TOMLPosition) throws {
        let start = pos
        i += 1
        guard let e = peek else { throw fail("unterminated string", at: open) }
        if multiline && (e == " " || e == "\t" || e == "\n") {
            // A line-ending backslash removes the newline and all whitespace after it.
            var j = i
            while j < s.count, s[j] == " " || s[j] == "\t" { j += 1 }
            guard j < s.count, s[j] == "\n" else {
                throw fail("invalid escape: '\\' may only be followed by whitespace at the end of a line", at: start)
            }
            while let c = peek, c == " " || c == "\t" || c == "\n" { advance() }
            return
        }
        if let c = simpleEscapes[e] {
            out.append(c)
            i += 1
            return
        }
        guard e == "u" || e == "U" else {
            throw fail(e == " " || isControl(e) || e == "\n" ? "invalid escape: '\\' followed by \(describe(e))" : "invalid escape \\\(e)", at: start)
        }
        let count = e == "u" ? 4 : 8
        var value: UInt32 = 0
        var digits = ""
        for k in 1...count {
            guard let d = peek(k), let h = Int(String(d), radix: 16) else {
                throw fail("invalid escape \\\(e)\(digits) (expected \(count) hexadecimal digits)", at: start)
            }
            digits.unicodeScalars.append(d)
            value = value * 16 + UInt32(h)
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw fail("invalid escape \\\(e)\(digits) (not a Unicode scalar value)", at: start)
        }
        out.append(scalar)
        i += 1 + count
    }

    private mutating func enterNested(_ open: TOMLPosition) throws {
        // Bounds recursion so that a hostile file cannot overflow the stack.
        guard depth < 128 else { throw fail("arrays and inline tables are nested too deeply", at: open) }
        depth += 1
    }

    private mutating func parseArray() throws -> TOMLValue {
        let open = pos
        try enterNested(open)
        defer { depth -= 1 }
        i += 1
        var elements: [TOMLValue] = []
        while true {
            try skipBlank()
            guard let c = peek else { throw fail("unterminated array", at: open) }
            if c == "]" { i += 1; return .array(elements) }
            elements.append(try parseValue())
            try skipBlank()
            switch peek {
            case ","?: i += 1
            case "]"?: i += 1; return .array(elements)
            case nil: throw fail("unterminated array", at: open)
            case let c?: throw fail("expected ',' or ']' after array element, found \(describe(c))")
            }
        }
    }

    private mutating func parseInlineTable() throws -> TOMLValue {
        let open = pos
        try enterNested(open)
        defer { depth -= 1 }
        i += 1
        sections += 1
        let section = sections
        let node = Node(.dotted(section), open)
        skipWhitespace()
        if peek == "}" { i += 1; return .table(node.table()) }
        while true {
            skipWhitespace()
            if peek == "\n" { throw fail("newlines are not allowed in inline tables") }
            try parseKeyValue(into: node, section: section)
            skipWhitespace()
            switch peek {
            case ","?:
                let comma = pos
                i += 1
                skipWhitespace()
                if peek == "}" { throw fail("trailing comma is not allowed in an inline table", at: comma) }
            case "}"?:
                i += 1
                return .table(node.table())
            case "\n"?: throw fail("newlines are not allowed in inline tables")
            case nil: throw fail("unterminated inline table", at: open)
            case let c?: throw fail("expected ',' or '}' after inline table value, found \(describe(c))")
            }
        }
    }

    /// Booleans, inf/nan, numbers and date-times: scans the whole token, then classifies it.
    private mutating func parseToken() throws -> TOMLValue {
        let start = pos
        var t: [Unicode.Scalar] = []
        while let c = peek, isTokenChar(c) { t.append(c); i += 1 }
        // "1979-05-27 07:32:00": a space may separate the date from the time.
        if t.count == 10, t[4] == "-", t[7] == "-", peek == " ",
           let a = peek(1), isDigit(a), let b = peek(2), isDigit(b), peek(3) == ":" {
            t.append(" ")
            i += 1
            while let c = peek, isTokenChar(c) { t.append(c); i += 1 }
        }
        let text = String(String.UnicodeScalarView(t))
        switch text {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan": return .float(.nan)
        case "-nan": return .float(-.nan)
        default: break
        }
        if (t.count >= 5 && t[0..<4].allSatisfy(isDigit) && t[4] == "-") || (t.count >= 3 && isDigit(t[0]) && isDigit(t[1]) && t[2] == ":") {
            return .dateTime(try parseDateTime(t, text: text, at: start))
        }
        if t[0].properties.isAlphabetic {
            let lower = text.lowercased()
            let hint = ["true", "false", "inf", "nan"].contains(lower) ? "did you mean \(lower)?" : "strings must be quoted"
            throw fail("invalid value \"\(text)\" (\(hint))", at: start)
        }
        return try parseNumber(t, text: text, at: start)
    }

    private func parseNumber(_ t: [Unicode.Scalar], text: String, at start: TOMLPosition) throws -> TOMLValue {
        func invalid(_ why: String = "") -> TOMLError {
            fail("invalid number \"\(text)\"" + (why.isEmpty ? "" : " (\(why))"), at: start)
        }
        /// Digits with single underscores between them.
        func valid(_ part: ArraySlice<Unicode.Scalar>, radix: Int = 10) -> Bool {
            guard let first = part.first, let last = part.last, first != "_", last != "_" else { return false }
            var previous: Unicode.Scalar = "0"
            for c in part {
                if c == "_" { if previous == "_" { return false } } else if Int(String(c), radix: radix) == nil { return false }
                previous = c
            }
            return true
        }
        let digitsOnly = String(String.UnicodeScalarView(t.filter { $0 != "_" }))
        let outOfRange = fail("integer \(text) is out of range (64-bit signed integers only)", at: start)

        if t.count > 2, t[0] == "0", let radix = ["x": 16, "o": 8, "b": 2][t[1]] {
            guard valid(t[2...], radix: radix) else { throw invalid() }
            guard let v = Int64(String(digitsOnly.dropFirst(2)), radix: radix) else { throw outOfRange }
            return .integer(v)
        }
        var body = t[...]
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        let intEnd = body.firstIndex { $0 == "." || $0 == "e" || $0 == "E" } ?? body.endIndex
        guard valid(body[..<intEnd]) else { throw invalid() }
        if intEnd - body.startIndex > 1 && body.first == "0" { throw invalid("leading zeros are not allowed") }
        if intEnd == body.endIndex {
            guard let v = Int64(digitsOnly) else { throw outOfRange }
            return .integer(v)
        }
        var rest = body[intEnd...]
        if rest.first == "." {
            rest = rest.dropFirst()
            let fractionEnd = rest.firstIndex { $0 == "e" || $0 == "E" } ?? rest.endIndex
            guard valid(rest[..<fractionEnd]) else { throw invalid("expected digits after '.'") }
            rest = rest[fractionEnd...]
        }
        if !rest.isEmpty {
            rest = rest.dropFirst()
            if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
            guard valid(rest) else { throw invalid("expected digits in the exponent") }
        }
        guard let v = Double(digitsOnly) else { throw invalid() }
        return .float(v)
    }

    private func parseDateTime(_ t: [Unicode.Scalar], text: String, at start: TOMLPosition) throws -> TOMLDateTime {
        func invalid(_ why: String = "") -> TOMLError {
            fail("invalid date-time \"\(text)\"" + (why.isEmpty ? "" : " (\(why))"), at: start)
        }
        var k = 0
        func number(_ n: Int) -> Int? {
            guard k + n <= t.count else { return nil }
            var v = 0
            for c in t[k..<k + n] {
                guard isDigit(c) else { return nil }
                v = v * 10 + Int(c.value - 48)
            }
            k += n
            return v
        }
        func skip(_ c: Unicode.Scalar) -> Bool {
            guard k < t.count, t[k] == c else { return false }
            k += 1
            return true
        }
        var normalised = t
        var hasDate = false
        if t.count > 4 && t[4] == "-" {
            guard let year = number(4), skip("-"), let month = number(2), skip("-"), let day = number(2) else { throw invalid() }
            guard (1...12).contains(month) else { throw invalid("month must be 01 to 12") }
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
            guard (1...days).contains(day) else { throw invalid("day must be 01 to \(days) in that month") }
            hasDate = true
            if k == t.count { return TOMLDateTime(text: text, kind: .localDate) }
            guard t[k] == "T" || t[k] == "t" || t[k] == " " else { throw invalid() }
            normalised[k] = "T"
            k += 1
        }
        guard let hour = number(2), skip(":"), let minute = number(2), skip(":"), let second = number(2) else {
            throw invalid("times are written HH:MM:SS")
        }
        guard hour < 24, minute < 60, second < 60 else { throw invalid("time out of range") }
        if skip(".") {
            let digits = k
            while k < t.count, isDigit(t[k]) { k += 1 }
            guard k > digits else { throw invalid("expected digits after '.'") }
        }
        var kind: TOMLDateTime.Kind = hasDate ? .localDateTime : .localTime
        if hasDate && k < t.count {
            if t[k] == "Z" || t[k] == "z" {
                normalised[k] = "Z"
                k += 1
            } else if t[k] == "+" || t[k] == "-" {
                k += 1
                guard let h = number(2), skip(":"), let m = number(2) else { throw invalid("offsets are written Z or +HH:MM") }
                guard h < 24, m < 60 else { throw invalid("offset out of range") }
            }
            kind = .offsetDateTime
        }
        guard k == t.count else { throw invalid() }
        return TOMLDateTime(text: String(String.UnicodeScalarView(normalised)), kind: kind)
    }
}
