import Foundation

/// A tokenizer that could not be built from the vocabulary it was given.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Tokenizer metadata as a GGUF file stores it (`tokenizer.ggml.*`).
public struct TokenizerVocabulary: Sendable {
    /// Token texts as stored in GGUF (byte-level unicode strings for BPE).
    public var tokens: [String]
    /// One type per token: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    /// Empty means all normal.
    public var tokenTypes: [Int32]
    /// Merges in rank order, each "left right".
    public var merges: [String]
    public var bosID: Int32?
    public var eosID: Int32?
    public var unknownID: Int32?
    public var paddingID: Int32?
    /// `tokenizer.ggml.pre`: "smollm" (also "starcoder", "refact"), or "gpt-2"/"gpt2".
    public var preTokenizer: String
    public var addBOS: Bool

    public init(
        tokens: [String],
        tokenTypes: [Int32],
        merges: [String],
        bosID: Int32? = nil,
        eosID: Int32? = nil,
        unknownID: Int32? = nil,
        paddingID: Int32? = nil,
        preTokenizer: String,
        addBOS: Bool = false
    ) {
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.preTokenizer = preTokenizer
        self.addBOS = addBOS
    }
}

/// GPT-2 style byte-level BPE tokenizer that reproduces llama.cpp's tokenization
/// (`llm_tokenizer_bpe_session`, `unicode_regex_split`, `tokenizer_st_partition`,
/// `token_to_piece`) for the "smollm" and "gpt-2" pre-tokenizers.
///
/// Immutable after init and safe to share between threads; concurrent encode calls take
/// scratch buffers (with a cache of short words) from an internal pool.
public final class BPETokenizer: Sendable {
    enum PreTokenizer: Sendable {
        /// `\p{N}` split into single code points, then the GPT-2 regex on the rest.
        case smollm
        /// The GPT-2 regex: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
        case gpt2
    }

    struct SpecialToken: Sendable {
        let id: Int32
        let bytes: [UInt8]
        /// Control and unknown tokens are only split out with parseSpecial;
        /// user-defined tokens always are.
        let onlyWhenParsingSpecial: Bool
    }

    let tokenTexts: [String]
    let tokenToID: [String: Int32]
    let types: [Int32]
    let preTokenizer: PreTokenizer
    /// Token for each byte's byte-level character, or -1 when the vocabulary lacks it.
    let byteTokens: [Int32]
    let mergeTable: BPEMergeTable
    /// For merge results that are not tokens (ids vocabularySize...): what llama.cpp
    /// emits for such a symbol, namely the single-character tokens of its ASCII bytes.
    let syntheticFallback: [[Int32]]
    /// token_to_piece(special: true) of every token, concatenated.
    let pieceData: [UInt8]
    let pieceStart: [Int]
    /// Tokens that partition the text before BPE, longest text first.
    let specialTokens: [SpecialToken]
    let hasUserDefinedTokens: Bool
    /// Character classes of the first three planes (see BPECharClass).
    let classTable: [UInt8]
    let workspaces = BPEWorkspacePool()

    public let bosID: Int32?
    public let eosID: Int32?
    public let unknownID: Int32?
    public let paddingID: Int32?
    public let addBOS: Bool

    public init(_ vocabulary: TokenizerVocabulary) throws {
        let tokens = vocabulary.tokens
        let n = tokens.count
        guard n > 0 else { throw TokenizerError("the vocabulary has no tokens") }
        guard n < Int(Int32.max) / 2 else { throw TokenizerError("the vocabulary has too many tokens (\(n))") }

        switch vocabulary.preTokenizer {
        case "smollm", "starcoder", "refact":
            preTokenizer = .smollm
        case "gpt2", "gpt-2":
            preTokenizer = .gpt2
        default:
            throw TokenizerError("unknown pre-tokenizer '\(vocabulary.preTokenizer)' (supported: smollm, starcoder, refact, gpt-2)")
        }

        if vocabulary.tokenTypes.isEmpty {
            types = [Int32](repeating: 1, count: n)
        } else if vocabulary.tokenTypes.count < n {
            throw TokenizerError("\(vocabulary.tokenTypes.count) token types for \(n) tokens")
        } else {
            types = Array(vocabulary.tokenTypes.prefix(n))
        }

        for (name, id) in [("bos", vocabulary.bosID), ("eos", vocabulary.eosID),
                           ("unknown", vocabulary.unknownID), ("padding", vocabulary.paddingID)] {
            if let id, id < 0 || Int(id) >= n {
                throw TokenizerError("\(name) token id \(id) is outside the vocabulary (0..<\(n))")
            }
        }
        bosID = vocabulary.bosID
        eosID = vocabulary.eosID
        unknownID = vocabulary.unknownID
        paddingID = vocabulary.paddingID
        addBOS = vocabulary.addBOS

        // Texts and the reverse map (llama.cpp renames empty tokens and rejects duplicates).
        var texts = tokens
        var toID = [String: Int32](minimumCapacity: n)
        for i in 0..<n {
            if texts[i].isEmpty { texts[i] = "[EMPTY_\(i)]" }
            if let other = toID.updateValue(Int32(i), forKey: texts[i]) {
                throw TokenizerError("duplicate token in vocabulary: '\(texts[i])' has ids \(other) and \(i)")
            }
        }
        tokenTexts = texts
        tokenToID = toID

        var bytesToID = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            bytesToID[b] = toID[BPEByteLevel.character(for: UInt8(b))] ?? -1
        }
        byteTokens = bytesToID

        // Merges: rank = position; the first of duplicate pairs wins, as in llama.cpp.
        var table = BPEMergeTable(capacity: vocabulary.merges.count)
        var synthetic: [[Int32]] = []
        var syntheticIDs: [String: Int32] = [:]
        for (rank, merge) in vocabulary.merges.enumerated() {
            let utf8 = Array(merge.utf8)
            // llama.cpp splits at the first space after the first byte.
            guard let space = utf8.indices.dropFirst().first(where: { utf8[$0] == 0x20 }) else {
                throw TokenizerError("merge \(rank) '\(merge)' is not two tokens separated by a space")
            }
            let left = String(decoding: utf8[..<space], as: UTF8.self)
            let right = String(decoding: utf8[(space + 1)...], as: UTF8.self)
            guard let leftID = toID[left] else {
                throw TokenizerError("merge \(rank) '\(merge)' names unknown token '\(left)'")
            }
            guard let rightID = toID[right] else {
                throw TokenizerError("merge \(rank) '\(merge)' names unknown token '\(right)'")
            }
            let joined = left + right
            let resultID: Int32
            if let id = toID[joined] {
                resultID = id
            } else if let id = syntheticIDs[joined] {
                resultID = id
            } else {
                resultID = Int32(n + synthetic.count)
                syntheticIDs[joined] = resultID
                var fallback: [Int32] = []
                for c in joined.utf8 where c < 0x80 {
                    if let id = toID[String(UnicodeScalar(c))] { fallback.append(id) }
                }
                synthetic.append(fallback)
            }
            table.insertIfAbsent(left: leftID, right: rightID, rank: Int32(rank), result: resultID)
        }
        mergeTable = table
        syntheticFallback = synthetic

        // Pieces (llama.cpp's token_to_piece with special = true).
        var data: [UInt8] = []
        data.reserveCapacity(n * 8)
        var starts = [Int](repeating: 0, count: n + 1)
        for i in 0..<n {
            starts[i] = data.count
            switch types[i] {
            case 2, 3, 4: // unknown, control, user-defined: their text
                data.append(contentsOf: texts[i].utf8)
            case 1: // normal: decode the byte-level text
                for scalar in texts[i].unicodeScalars {
                    let v = scalar.value
                    if v < 0x144, BPEByteLevel.scalarToByte[Int(v)] >= 0 {
                        data.append(UInt8(BPEByteLevel.scalarToByte[Int(v)]))
                    } else {
                        // llama_decode_text's marker for a character outside the byte alphabet.
                        data.append(contentsOf: "[UNK_BYTE_0x".utf8)
                        for c in String(Character(scalar)).utf8 {
                            data.append(contentsOf: String(format: "%02x", c).utf8)
                        }
                        data.append(contentsOf: texts[i].utf8)
                        data.append(contentsOf: "]".utf8)
                    }
                }
            case 6: // byte tokens "<0xXX>"
                let t = texts[i]
                if t.utf8.count == 6, t.hasPrefix("<0x"), t.hasSuffix(">"),
                   let b = UInt8(t.dropFirst(3).prefix(2), radix: 16) {
                    data.append(b)
                }
            default: // unused, undefined: nothing
                break
            }
        }
        starts[n] = data.count
        pieceData = data
        pieceStart = starts

        // Special tokens: control, user-defined and unknown, longest first.
        var specials: [SpecialToken] = []
        for i in 0..<n where types[i] == 2 || types[i] == 3 || types[i] == 4 {
            specials.append(SpecialToken(id: Int32(i), bytes: Array(texts[i].utf8),
                                         onlyWhenParsingSpecial: types[i] != 4))
        }
        specials.sort { a, b in
            a.bytes.count != b.bytes.count ? a.bytes.count > b.bytes.count : a.id < b.id
        }
        specialTokens = specials
        hasUserDefinedTokens = specials.contains { !$0.onlyWhenParsingSpecial }
        classTable = BPECharClass.table
    }

    public var vocabularySize: Int { tokenTexts.count }

    public func id(of token: String) -> Int32? { tokenToID[token] }

    public func isControl(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < types.count && types[Int(id)] == 3
    }

    /// The token's text as stored in the vocabulary.
    public func tokenText(_ id: Int32) -> String? {
        id >= 0 && Int(id) < tokenTexts.count ? tokenTexts[Int(id)] : nil
    }

    /// The bytes one token stands for (control, unknown and user-defined tokens: their text).
    public func pieceBytes(_ id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < tokenTexts.count else { return [] }
        return Array(pieceData[pieceStart[Int(id)]..<pieceStart[Int(id) + 1]])
    }

    /// Concatenated pieces as UTF-8 (invalid sequences become U+FFFD). With skipSpecial,
    /// control and unknown tokens render as nothing (llama.cpp's special = false).
    /// Ids outside the vocabulary are skipped.
    public func decode(_ ids: [Int32], skipSpecial: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 6)
        pieceData.withUnsafeBufferPointer { data in
            for id in ids {
                guard id >= 0, Int(id) < types.count else { continue }
                if skipSpecial {
                    let t = types[Int(id)]
                    if t == 2 || t == 3 { continue }
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: data[pieceStart[Int(id)]..<pieceStart[Int(id) + 1]]))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Token ids for `text`. Never adds BOS. With parseSpecial, the texts of control and
    /// unknown tokens become those tokens; user-defined tokens are always recognised.
    public func encode(_ text: String, parseSpecial: Bool = false) -> [Int32] {
        var text = text
        return text.withUTF8 { bytes in
            encode(bytes: bytes, parseSpecial: parseSpecial)
        }
    }

    func encode(bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Int32] {
        var output: [Int32] = []
        guard bytes.count > 0 else { return output }
        output.reserveCapacity(bytes.count / 3 + 4)
        let workspace = workspaces.take()
        defer { workspaces.give(workspace) }
        if !parseSpecial && !hasUserDefinedTokens {
            tokenizeFragment(bytes, workspace, &output)
            return output
        }
        for fragment in partition(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id):
                output.append(id)
            case .text(let start, let end):
                tokenizeFragment(UnsafeBufferPointer(rebasing: bytes[start..<end]), workspace, &output)
            }
        }
        return output
    }

    // MARK: - Special tokens

    enum Fragment {
        case text(Int, Int)
        case token(Int32)
    }

    /// llama.cpp's tokenizer_st_partition: for each special token, longest first, split
    /// every remaining text fragment at its occurrences (leftmost, non-overlapping).
    func partition(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = [.text(0, bytes.count)]
        guard let base = bytes.baseAddress else { return fragments }
        for special in specialTokens {
            if special.onlyWhenParsingSpecial && !parseSpecial { continue }
            let pattern = special.bytes
            guard !pattern.isEmpty else { continue }
            var next: [Fragment] = []
            var changed = false
            for fragment in fragments {
                guard case .text(var start, let end) = fragment else {
                    next.append(fragment)
                    continue
                }
                while start < end, let match = BPETokenizer.find(pattern, in: base, from: start, to: end) {
                    changed = true
                    if match > start { next.append(.text(start, match)) }
                    next.append(.token(special.id))
                    start = match + pattern.count
                }
                if start < end { next.append(.text(start, end)) }
            }
            if changed { fragments = next }
        }
        return fragments
    }

    static func find(_ pattern: [UInt8], in base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        let m = pattern.count
        guard to - from >= m else { return nil }
        let first = Int32(pattern[0])
        var i = from
        let last = to - m
        return pattern.withUnsafeBufferPointer { p in
            while i <= last {
                guard let hit = memchr(base + i, first, last - i + 1) else { return nil }
                i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if memcmp(base + i, p.baseAddress!, m) == 0 { return i }
                i += 1
            }
            return nil
        }
    }

    // MARK: - Pre-tokenizer

    func tokenizeFragment(_ bytes: UnsafeBufferPointer<UInt8>, _ ws: BPEWorkspace, _ output: inout [Int32]) {
        classTable.withUnsafeBufferPointer { ws.decode(bytes, classes: $0) }
        let count = ws.count
        switch preTokenizer {
        case .gpt2:
            gpt2Split(bytes, ws, 0, count, &output)
        case .smollm:
            // First regex "\p{N}": every number code point is a piece of its own, the text
            // between them pieces of their own; then the GPT-2 regex within each piece.
            var segment = 0
            var i = 0
            while i < count {
                if ws.classes[i] == BPECharClass.number {
                    if segment < i { gpt2Split(bytes, ws, segment, i, &output) }
                    bpe(bytes, ws.offsets[i], ws.offsets[i + 1], ws, &output)
                    segment = i + 1
                }
                i += 1
            }
            if segment < count { gpt2Split(bytes, ws, segment, count, &output) }
        }
    }

    /// llama.cpp's unicode_regex_split_custom_gpt2 on code points [ini, end): nothing
    /// past `end` is visible, so `\s+(?!\S)` treats the piece's end as end of text.
    func gpt2Split(_ bytes: UnsafeBufferPointer<UInt8>, _ ws: BPEWorkspace, _ ini: Int, _ end: Int,
                   _ output: inout [Int32]) {
        let cps = ws.scalars
        let cls = ws.classes
        let offsets = ws.offsets
        @inline(__always) func classAt(_ p: Int) -> UInt8 { p < end ? cls[p] : BPECharClass.none }

        var pos = ini
        while pos < end {
            let start = pos
            let c = cps[pos]
            defer { bpe(bytes, offsets[start], offsets[pos], ws, &output) }

            // 's|'t|'re|'ve|'m|'ll|'d
            if c == 0x27 && pos + 1 < end {
                let n1 = cps[pos + 1]
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 { // s t m d
                    pos += 2
                    continue
                }
                if pos + 2 < end {
                    let n2 = cps[pos + 2]
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) { // re ve ll
                        pos += 3
                        continue
                    }
                }
            }

            let c2 = c == 0x20 ? classAt(pos + 1) : cls[pos]
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
            if c2 == BPECharClass.letter || c2 == BPECharClass.number || c2 == BPECharClass.other {
                if c == 0x20 { pos += 1 }
                repeat { pos += 1 } while classAt(pos) == c2
                continue
            }

            var k = 0
            while classAt(pos + k) == BPECharClass.whitespace { k += 1 }
            if k > 1 && pos + k < end {
                pos += k - 1 // \s+(?!\S): leave the last space for the next word
            } else if k > 0 {
                pos += k // \s+
            } else {
                pos += 1 // no match
            }
        }
    }

    // MARK: - BPE

    /// Byte-pair encodes one word (bytes [start, end) of the fragment) and appends its tokens.
    @inline(__always)
    func bpe(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ ws: BPEWorkspace,
             _ output: inout [Int32]) {
        let n = end - start
        if n == 1 {
            let id = byteTokens[Int(bytes[start])]
            if id >= 0 { output.append(id) }
            return
        }
        if n <= BPEWordCache.maxWordLength {
            var k0: UInt64 = 0, k1: UInt64 = 0
            for i in 0..<min(n, 8) { k0 |= UInt64(bytes[start + i]) << (8 * UInt64(i)) }
            if n > 8 { for i in 8..<n { k1 |= UInt64(bytes[start + i]) << (8 * UInt64(i - 8)) } }
            if ws.cache.lookup(k0, k1, n, into: &output) { return }
            let before = output.count
            bpeSmall(bytes, start, n, ws, &output)
            ws.cache.insert(k0, k1, n, output[before...])
        } else if n <= 48 {
            bpeSmall(bytes, start, n, ws, &output)
        } else {
            bpeLarge(bytes, start, n, ws, &output)
        }
    }

    @inline(__always)
    func emit(_ id: Int32, _ output: inout [Int32]) {
        if Int(id) < tokenTexts.count {
            if id >= 0 { output.append(id) } // -1: a byte the vocabulary lacks: dropped
        } else {
            output.append(contentsOf: syntheticFallback[Int(id) - tokenTexts.count])
        }
    }

    /// Repeatedly merges the adjacent pair of lowest rank, the leftmost on ties — the
    /// order llama.cpp's priority queue produces. O(n²), for short words.
    func bpeSmall(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int, _ ws: BPEWorkspace,
                  _ output: inout [Int32]) {
        let ids = ws.symbolIDs
        let ranks = ws.pairRanks
        let results = ws.pairResults
        var n = count
        for i in 0..<n { ids[i] = byteTokens[Int(bytes[start + i])] }
        for i in 0..<(n - 1) {
            let (r, m) = mergeTable.lookup(ids[i], ids[i + 1])
            ranks[i] = r
            results[i] = m
        }
        while n > 1 {
            var best = Int32.max
            var at = -1
            for i in 0..<(n - 1) where ranks[i] < best {
                best = ranks[i]
                at = i
            }
            if at < 0 { break }
            ids[at] = results[at]
            // Remove symbol at+1 and pair at (its pair with at+1 is now inside `at`).
            var i = at + 1
            while i < n - 1 {
                ids[i] = ids[i + 1]
                i += 1
            }
            i = at
            while i < n - 2 {
                ranks[i] = ranks[i + 1]
                results[i] = results[i + 1]
                i += 1
            }
            n -= 1
            if at > 0 {
                let (r, m) = mergeTable.lookup(ids[at - 1], ids[at])
                ranks[at - 1] = r
                results[at - 1] = m
            }
            if at < n - 1 {
                let (r, m) = mergeTable.lookup(ids[at], ids[at + 1])
                ranks[at] = r
                results[at] = m
            }
        }
        for i in 0..<n { emit(ids[i], &output) }
    }

    /// llama.cpp's algorithm: a linked list of symbols and a priority queue of candidate
    /// pairs ordered by (rank, left position); stale pairs are skipped when popped.
    func bpeLarge(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int, _ ws: BPEWorkspace,
                  _ output: inout [Int32]) {
        var ids = [Int32](repeating: 0, count: count)
        var prev = [Int32](repeating: -1, count: count)
        var next = [Int32](repeating: -1, count: count)
        var alive = [Bool](repeating: true, count: count)
        for i in 0..<count {
            ids[i] = byteTokens[Int(bytes[start + i])]
            prev[i] = Int32(i - 1)
            next[i] = i + 1 < count ? Int32(i + 1) : -1
        }
        var heap = BPEPairHeap()
        func push(_ l: Int32, _ r: Int32) {
            guard l >= 0, r >= 0 else { return }
            let (rank, result) = mergeTable.lookup(ids[Int(l)], ids[Int(r)])
            if rank != Int32.max {
                heap.push(BPEPair(rank: rank, left: l, right: r, leftID: ids[Int(l)], rightID: ids[Int(r)], result: result))
            }
        }
        for i in 1..<count { push(Int32(i - 1), Int32(i)) }
        while let pair = heap.pop() {
            let l = Int(pair.left), r = Int(pair.right)
            // Outdated if either side was merged away or has grown since the pair was queued.
            guard alive[l], alive[r], next[l] == pair.right,
                  ids[l] == pair.leftID, ids[r] == pair.rightID else { continue }
            ids[l] = pair.result
            alive[r] = false
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = Int32(l) }
            push(prev[l], Int32(l))
            push(Int32(l), next[l])
        }
        var i: Int32 = 0
        while i >= 0 {
            emit(ids[Int(i)], &output)
            i = next[Int(i)]
        }
    }
}

// MARK: - Internals

struct BPEPair {
    var rank: Int32
    var left: Int32
    var right: Int32
    var leftID: Int32
    var rightID: Int32
    var result: Int32

    @inline(__always)
    func precedes(_ other: BPEPair) -> Bool {
        rank != other.rank ? rank < other.rank : left < other.left
    }
}

/// Binary min-heap of candidate pairs.
struct BPEPairHeap {
    var items: [BPEPair] = []

    mutating func push(_ item: BPEPair) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[i].precedes(items[parent]) {
                items.swapAt(i, parent)
                i = parent
            } else {
                break
            }
        }
    }

    mutating func pop() -> BPEPair? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && items[l].precedes(items[m]) { m = l }
                if r < n && items[r].precedes(items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}

/// Open-addressing hash map from a pair of token ids to (rank, merged token id).
struct BPEMergeTable: Sendable {
    struct Entry {
        var key: UInt64
        var rank: Int32
        var result: Int32
    }
    private var entries: [Entry]
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        entries = [Entry](repeating: Entry(key: BPEMergeTable.empty, rank: Int32.max, result: -1), count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    mutating func insertIfAbsent(left: Int32, right: Int32, rank: Int32, result: Int32) {
        let k = BPEMergeTable.key(left, right)
        var i = BPEMergeTable.slot(k, mask)
        while entries[i].key != BPEMergeTable.empty {
            if entries[i].key == k { return }
            i = (i + 1) & mask
        }
        entries[i] = Entry(key: k, rank: rank, result: result)
    }

    /// (rank, result) of merging `left` then `right`, or (Int32.max, -1) when they don't merge.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (Int32, Int32) {
        let k = BPEMergeTable.key(left, right)
        return entries.withUnsafeBufferPointer { entries in
            var i = BPEMergeTable.slot(k, mask)
            while true {
                let e = entries[i]
                if e.key == k { return (e.rank, e.result) }
                if e.key == BPEMergeTable.empty { return (Int32.max, -1) }
                i = (i + 1) & mask
            }
        }
    }
}

/// Scratch buffers for one encode call: the fragment decoded to code points, and the
/// symbol buffers of short-word BPE.
final class BPEWorkspace {
    var capacity = 0
    var count = 0
    var scalars: UnsafeMutablePointer<UInt32>
    var classes: UnsafeMutablePointer<UInt8>
    /// Byte offset of each code point, plus the end offset.
    var offsets: UnsafeMutablePointer<Int>
    let symbolIDs: UnsafeMutablePointer<Int32>
    let pairRanks: UnsafeMutablePointer<Int32>
    let pairResults: UnsafeMutablePointer<Int32>
    var cache = BPEWordCache()

    init() {
        capacity = 256
        scalars = .allocate(capacity: capacity)
        classes = .allocate(capacity: capacity)
        offsets = .allocate(capacity: capacity + 1)
        symbolIDs = .allocate(capacity: 64)
        pairRanks = .allocate(capacity: 64)
        pairResults = .allocate(capacity: 64)
    }

    deinit {
        scalars.deallocate()
        classes.deallocate()
        offsets.deallocate()
        symbolIDs.deallocate()
        pairRanks.deallocate()
        pairResults.deallocate()
    }

    private func reserve(_ n: Int) {
        guard n > capacity else { return }
        scalars.deallocate()
        classes.deallocate()
        offsets.deallocate()
        capacity = max(n, capacity * 2)
        scalars = .allocate(capacity: capacity)
        classes = .allocate(capacity: capacity)
        offsets = .allocate(capacity: capacity + 1)
    }

    /// Decodes valid UTF-8 (a Swift String's) into code points, classes and offsets.
    func decode(_ bytes: UnsafeBufferPointer<UInt8>, classes table: UnsafeBufferPointer<UInt8>) {
        reserve(bytes.count)
        let n = bytes.count
        var i = 0
        var k = 0
        while i < n {
            let b0 = bytes[i]
            offsets[k] = i
            if b0 < 0x80 {
                scalars[k] = UInt32(b0)
                classes[k] = table[Int(b0)]
                i += 1
            } else {
                let v: UInt32
                if b0 < 0xE0 {
                    v = UInt32(b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F)
                    i += 2
                } else if b0 < 0xF0 {
                    v = UInt32(b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F)
                    i += 3
                } else {
                    v = UInt32(b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12
                        | UInt32(bytes[i + 2] & 0x3F) << 6 | UInt32(bytes[i + 3] & 0x3F)
                    i += 4
                }
                scalars[k] = v
                classes[k] = v < BPECharClass.tableLimit ? table[Int(v)] : BPECharClass.classify(v)
            }
            k += 1
        }
        offsets[k] = n
        count = k
    }
}

/// Workspaces kept for reuse, so that each encode call neither allocates its buffers
/// nor starts with an empty word cache; one per concurrent caller.
final class BPEWorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [BPEWorkspace] = []

    func take() -> BPEWorkspace {
        lock.lock()
        defer { lock.unlock() }
        return free.popLast() ?? BPEWorkspace()
    }

    func give(_ workspace: BPEWorkspace) {
        lock.lock()
        defer { lock.unlock() }
        if free.count < 64 { free.append(workspace) }
    }
}

/// Cache of the tokens of short words (2...16 bytes), keyed by the word's bytes packed
/// into two integers. Cleared when full.
struct BPEWordCache {
    static let maxWordLength = 16
    struct Entry {
        var k0: UInt64
        var k1: UInt64
        var length: UInt32 // 0: empty
        var start: UInt32
        var count: UInt32
    }
    private static let slots = 1 << 15
    private var entries = [Entry](repeating: Entry(k0: 0, k1: 0, length: 0, start: 0, count: 0), count: slots)
    private var values: [Int32] = []
    private var used = 0

    @inline(__always)
    private static func slot(_ k0: UInt64, _ k1: UInt64, _ n: Int) -> Int {
        let h = (k0 ^ (k1 &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(n)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: h >> 40) & (slots - 1)
    }

    @inline(__always)
    func lookup(_ k0: UInt64, _ k1: UInt64, _ n: Int, into output: inout [Int32]) -> Bool {
        var i = BPEWordCache.slot(k0, k1, n)
        return entries.withUnsafeBufferPointer { entries in
            while true {
                let e = entries[i]
                if e.length == 0 { return false }
                if e.k0 == k0 && e.k1 == k1 && e.length == UInt32(n) {
                    values.withUnsafeBufferPointer { v in
                        output.append(contentsOf: UnsafeBufferPointer(rebasing: v[Int(e.start)..<Int(e.start + e.count)]))
                    }
                    return true
                }
                i = (i + 1) & (BPEWordCache.slots - 1)
            }
        }
    }

    mutating func insert(_ k0: UInt64, _ k1: UInt64, _ n: Int, _ ids: ArraySlice<Int32>) {
        if used * 2 >= BPEWordCache.slots || values.count > 1 << 20 {
            for i in 0..<entries.count { entries[i].length = 0 }
            values.removeAll(keepingCapacity: true)
            used = 0
        }
        var i = BPEWordCache.slot(k0, k1, n)
        while entries[i].length != 0 { i = (i + 1) & (BPEWordCache.slots - 1) }
        entries[i] = Entry(k0: k0, k1: k1, length: UInt32(n), start: UInt32(values.count), count: UInt32(ids.count))
        values.append(contentsOf: ids)
        used += 1
    }
}

