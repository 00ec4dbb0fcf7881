extension Downloader {
    /// Substrings that mark a query (or fragment) parameter name as secret, matched case-insensitively
    /// against the percent-decoded name: `api_key`, `access_token`, `X-Amz-Signature`, `sig`, ...
    static let secretParameterMarkers = ["key", "token", "sig", "secret", "password", "passwd", "pwd",
                                         "credential", "auth"]

    /// Removes `user:password@` and query parameters named like key/token/signature/sig/secret/password
    /// from a URL, for messages and logs.
    ///
    ///     redact("https://u:p@h/x?key=abc&a=1") == "https://h/x?a=1"
    ///
    /// Parameters in a fragment (`#access_token=...`) are filtered the same way; everything else is
    /// left byte for byte as it was, and a URL whose query loses all its parameters loses its `?`.
    public static func redact(_ url: String) -> String {
        var rest = Substring(url)

        var fragment: Substring?
        if let hash = rest.firstIndex(of: "#") {
            fragment = rest[rest.index(after: hash)...]
            rest = rest[..<hash]
        }
        var query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }

        // rest is now scheme://authority/path (or authority/path without a scheme).
        var base = String(rest)
        let authorityStart = base.range(of: "://")?.upperBound ?? base.startIndex
        let authorityEnd = base[authorityStart...].firstIndex(of: "/") ?? base.endIndex
        if let at = base[authorityStart..<authorityEnd].lastIndex(of: "@") {
            base.removeSubrange(authorityStart...at)
        }

        if let query {
            let kept = keptParameters(query)
            if !kept.isEmpty { base += "?" + kept }
        }
        if let fragment {
            let kept = fragment.contains("=") ? keptParameters(fragment) : String(fragment)
            if !kept.isEmpty { base += "#" + kept }
        }
        return base
    }

    private static func keptParameters(_ query: Substring) -> String {
        query.split(separator: "&", omittingEmptySubsequences: false)
            .filter { !$0.isEmpty && !isSecretParameter($0) }
            .joined(separator: "&")
    }

    private static func isSecretParameter(_ parameter: Substring) -> Bool {
        let rawName = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let name = percentDecoded(rawName).lowercased()
        return secretParameterMarkers.contains { name.contains($0) }
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), iterator.count >= 2,
                      let hi = hexValue(iterator[iterator.startIndex]),
                      let lo = hexValue(iterator[iterator.startIndex + 1]) {
                bytes.append(hi << 4 | lo)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
