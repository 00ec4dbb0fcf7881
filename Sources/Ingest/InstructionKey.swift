import Checksums
import Foundation
import Store

/// The key that decides exact duplicates: instruction and input, each in Unicode NFC with runs of
/// white space collapsed to one space and trimmed, joined by a NUL.
public enum InstructionKey {
    public static func normalized(_ text: String) -> String {
        let utf8 = text.utf8
        // ASCII text is already NFC: collapse its white space byte by byte.
        if utf8.allSatisfy({ $0 < 0x80 }) {
            var out = [UInt8]()
            out.reserveCapacity(utf8.count)
            var pendingSpace = false
            for b in utf8 {
                if b == 0x20 || (b >= 0x09 && b <= 0x0D) {
                    pendingSpace = !out.isEmpty
                } else {
                    if pendingSpace { out.append(0x20); pendingSpace = false }
                    out.append(b)
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
        let nfc = text.precomposedStringWithCanonicalMapping
        var scalars = String.UnicodeScalarView()
        var pendingSpace = false
        for u in nfc.unicodeScalars {
            if u.properties.isWhitespace {
                pendingSpace = !scalars.isEmpty
            } else {
                if pendingSpace { scalars.append(" "); pendingSpace = false }
                scalars.append(u)
            }
        }
        return String(scalars)
    }

    public static func key(instruction: String, input: String) -> String {
        normalized(instruction) + "\u{0}" + normalized(input)
    }

    /// The first 8 bytes of the key's SHA-256, as a signed integer for SQLite.
    public static func hash(ofKey key: String) -> Int64 {
        let d = SHA256.digest(Array(key.utf8))
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(d[i]) }
        return Int64(bitPattern: v)
    }
}

/// The store's first occurrences by normalised key, for marking exact duplicates as rows are
/// added (by ingest, and by generation importing a teacher's instructions).
public final class ExactDuplicateIndex {
    private let store: Store
    /// norm_hash → first occurrence; `extraFirsts` holds the other texts on a (rare) hash collision.
    private var firstByHash: [Int64: Int64]
    private var extraFirsts: [Int64: [Int64]] = [:]

    public init(store: Store) throws {
        self.store = store
        firstByHash = try store.firstOccurrencesByHash()
    }

    /// Reads the store again (after a rollback threw away rows it had remembered).
    public func reload() throws {
        firstByHash = try store.firstOccurrencesByHash()
        extraFirsts = [:]
    }

    /// The first row with this key, confirmed by comparing texts; nil when there is none.
    public func firstOccurrence(hash: Int64, key: String) throws -> Int64? {
        guard let first = firstByHash[hash] else { return nil }
        for id in [first] + (extraFirsts[hash] ?? []) {
            if let t = try store.instructionText(id: id), InstructionKey.key(instruction: t.instruction, input: t.input) == key {
                return id
            }
        }
        return nil
    }

    /// Records `id` as the first occurrence of its key.
    public func remember(hash: Int64, id: Int64) {
        if firstByHash[hash] == nil { firstByHash[hash] = id } else { extraFirsts[hash, default: []].append(id) }
    }
}
