/// Typed reading of one table of a configuration file. Every error names the file, the key path
/// (`teacher.temperature`) and the line and column where the offending key was written.
public struct TOMLSection: Sendable {
    public let table: TOMLTable
    /// The key path of this table: "" for the root, `teacher`, `prices."gpt-3.5-turbo"`, `models[0]`.
    public let path: String
    public let file: String

    public init(_ table: TOMLTable, path: String, file: String) {
        self.table = table
        self.path = path
        self.file = file
    }

    public var keys: [String] { table.keys }
    public var position: TOMLPosition { table.position }

    /// The full key path of `key` in this section, components quoted where they are not bare keys.
    public func keyPath(_ key: String) -> String {
        path.isEmpty ? TOML.formatKey(key) : path + "." + TOML.formatKey(key)
    }

    /// An error "path.key: message" at the key's position, or at the section's when the key is absent.
    public func error(_ key: String, _ message: String) -> TOMLError {
        at(key, "\(keyPath(key)): \(message)")
    }

    public func string(_ key: String) throws -> String? {
        guard let value = table[key] else { return nil }
        guard case .string(let s) = value else { throw mismatch(key, "a string", value) }
        return s
    }

    public func int(_ key: String) throws -> Int64? {
        guard let value = table[key] else { return nil }
        guard case .integer(let n) = value else { throw mismatch(key, "an integer", value) }
        return n
    }

    /// A float; an integer is accepted too (`temperature = 1`).
    public func double(_ key: String) throws -> Double? {
        switch table[key] {
        case nil: return nil
        case .float(let x)?: return x
        case .integer(let n)?: return Double(n)
        case let value?: throw mismatch(key, "a float", value)
        }
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let value = table[key] else { return nil }
        guard case .bool(let b) = value else { throw mismatch(key, "a boolean", value) }
        return b
    }

    public func stringArray(_ key: String) throws -> [String]? {
        guard let value = table[key] else { return nil }
        guard case .array(let elements) = value else { throw mismatch(key, "an array of strings", value) }
        return try elements.enumerated().map { index, element in
            guard case .string(let s) = element else {
                throw at(key, "\(keyPath(key))[\(index)]: expected a string, found \(element.typeName)")
            }
            return s
        }
    }

    /// A sub-table, from a [header], dotted keys or an inline table.
    public func section(_ key: String) throws -> TOMLSection? {
        guard let value = table[key] else { return nil }
        guard case .table(let t) = value else { throw mismatch(key, "a table", value) }
        return TOMLSection(t, path: keyPath(key), file: file)
    }

    /// An array of tables; element i gets the path `key[i]` (0-based).
    public func sectionArray(_ key: String) throws -> [TOMLSection]? {
        guard let value = table[key] else { return nil }
        guard case .array(let elements) = value else { throw mismatch(key, "an array of tables", value) }
        return try elements.enumerated().map { index, element in
            guard case .table(let t) = element else {
                throw at(key, "\(keyPath(key))[\(index)]: expected a table, found \(element.typeName)")
            }
            return TOMLSection(t, path: "\(keyPath(key))[\(index)]", file: file)
        }
    }

    /// Throws for the first key, in definition order, that is not in `known`, suggesting the
    /// closest known key when it is within two edits.
    public func checkKnownKeys(_ known: [String]) throws {
        guard let key = table.keys.first(where: { !known.contains($0) }) else { return }
        let hint: String
        if let best = known.map({ ($0, editDistance(key, $0)) }).filter({ $0.1 <= 2 }).min(by: { $0.1 < $1.1 }) {
            hint = "did you mean \(TOML.formatKey(best.0))?"
        } else if known.isEmpty {
            hint = "no keys are allowed here"
        } else {
            hint = "known keys: " + known.map(TOML.formatKey).joined(separator: ", ")
        }
        throw at(key, "unknown key \(keyPath(key)) (\(hint))")
    }

    private func at(_ key: String, _ message: String) -> TOMLError {
        let p = table.position(of: key) ?? table.position
        return TOMLError(file: file, line: p.line, column: p.column, message: message)
    }

    private func mismatch(_ key: String, _ expected: String, _ value: TOMLValue) -> TOMLError {
        error(key, "expected \(expected), found \(value.typeName)")
    }
}

/// Levenshtein distance over Unicode scalars.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    var row = Array(0...b.count)
    for i in 1...a.count {
        var previousDiagonal = row[0]
        row[0] = i
        for j in stride(from: 1, through: b.count, by: 1) {
            let substitution = previousDiagonal + (a[i - 1] == b[j - 1] ? 0 : 1)
            previousDiagonal = row[j]
            row[j] = min(substitution, row[j] + 1, row[j - 1] + 1)
        }
    }
    return row[b.count]
}
