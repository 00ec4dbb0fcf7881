import Checksums
import Foundation

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
