/// Many token-id sequences in two flat arrays (no array per sequence): `tokens` holds them one
/// after the other and sequence `i` is `tokens[starts[i]..<starts[i + 1]]`. 2.58M instructions of
/// ~15 tokens take ~60 MB of ids plus 20 MB of offsets, against ~250 MB as `[[Int32]]`.
public struct TokenSequences: Sendable, RandomAccessCollection {
    public private(set) var tokens: [Int32] = []
    /// `count + 1` offsets into `tokens`, starting with 0.
    public private(set) var starts: [Int] = [0]

    public init() {}

    public init<S: Sequence>(_ sequences: S) where S.Element == [Int32] {
        for s in sequences { append(s) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { starts.count - 1 }

    public subscript(i: Int) -> ArraySlice<Int32> { tokens[starts[i]..<starts[i + 1]] }

    /// Number of tokens of sequence `i`.
    public func length(_ i: Int) -> Int { starts[i + 1] - starts[i] }

    public mutating func append(_ sequence: [Int32]) {
        tokens.append(contentsOf: sequence)
        starts.append(tokens.count)
    }

    public mutating func append(_ sequence: UnsafeBufferPointer<Int32>) {
        tokens.append(contentsOf: sequence)
        starts.append(tokens.count)
    }

    /// Appends one token to a sequence under construction; `endSequence()` closes it.
    public mutating func appendToken(_ token: Int32) { tokens.append(token) }

    /// Closes the sequence made of the tokens appended since the last one was closed.
    public mutating func endSequence() { starts.append(tokens.count) }

    public mutating func reserveCapacity(sequences: Int, tokens tokenCount: Int) {
        starts.reserveCapacity(sequences + 1)
        tokens.reserveCapacity(tokenCount)
    }

    /// Calls `body` with sequence `i`'s tokens.
    public func withTokens<R>(_ i: Int, _ body: (UnsafeBufferPointer<Int32>) throws -> R) rethrows -> R {
        let s = starts[i], e = starts[i + 1]
        return try tokens.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[s..<e])) }
    }
}

/// Turns texts into `[Int32]` token ids with `RougeTokenizer`'s tokens: the id sequence of a text
/// is its `rouge_score` token list, each distinct token string mapped to one id, so two texts'
/// ROUGE-L (an LCS of token lists) is the LCS of their id sequences.
///
/// Ids are dense, `0..<vocabularySize`, in order of first appearance. With `stem: true` the ids
/// are those of the stemmed tokens (two words with the same stem share an id, as `rouge_score`
/// compares stems); each distinct raw token is stemmed once and remembered, since the Porter
/// stemmer costs about a microsecond a word and real text repeats its words.
///
/// Strings live in one byte arena behind an open-addressing hash table, so interning allocates
/// nothing per token once the tables have grown. Also counts, per id, the number of texts that
/// contain it (`documentFrequency`). Not thread-safe.
public final class TokenInterner {
    public let stems: Bool
    private let rawTokenizer = RougeTokenizer(stem: false)
    private let stemmer = PorterStemmer()
    /// Final tokens (stemmed when `stems`) → id.
    private var vocabulary = ByteStringTable()
    /// With `stems`: raw tokens → id of their stem.
    private var rawToStem = ByteStringTable()
    /// Per id: number of texts interned by `ids`/`append` that contain it.
    public private(set) var documentFrequency: [Int32] = []
    /// Per id: the last text (1-based counter) counted in `documentFrequency`.
    private var lastText: [Int32] = []
    private var textCounter: Int32 = 0
    private var scratch: [Int32] = []

    public init(stem: Bool = false) {
        self.stems = stem
    }

    /// Number of distinct (stemmed, when `stems`) tokens seen.
    public var vocabularySize: Int { vocabulary.count }

    /// Number of texts tokenized so far.
    public var textCount: Int { Int(textCounter) }

    /// The token string of `id`.
    public func token(_ id: Int32) -> String { vocabulary.string(at: Int(id)) }

    /// The id of `token` (already tokenized: `[a-z0-9]+`, stemmed when `stems`), or nil if unseen.
    public func id(of token: String) -> Int32? {
        var t = token
        return t.withUTF8 { b in vocabulary.find(b, hash: ByteStringTable.hash(b)).map { Int32($0) } }
    }

    /// The token ids of `text`.
    public func ids(_ text: String) -> [Int32] {
        scratch.removeAll(keepingCapacity: true)
        var text = text
        text.withUTF8 { bytes in forEachID(inUTF8: bytes) { scratch.append($0) } }
        return scratch
    }

    /// Appends the token ids of `text` to `sequences` as one sequence.
    public func append(_ text: String, to sequences: inout TokenSequences) {
        var text = text
        text.withUTF8 { bytes in forEachID(inUTF8: bytes) { sequences.appendToken($0) } }
        sequences.endSequence()
    }

    /// Appends the token ids of the UTF-8 `bytes` to `sequences` as one sequence.
    public func append(utf8 bytes: UnsafeBufferPointer<UInt8>, to sequences: inout TokenSequences) {
        forEachID(inUTF8: bytes) { sequences.appendToken($0) }
        sequences.endSequence()
    }

    /// Calls `body` with the id of each token of the UTF-8 `bytes`, in order; counts the text
    /// in `documentFrequency`.
    public func forEachID(inUTF8 bytes: UnsafeBufferPointer<UInt8>, _ body: (Int32) -> Void) {
        textCounter += 1
        let text = textCounter
        rawTokenizer.forEachToken(inUTF8: bytes) { raw in
            let id = intern(raw)
            if lastText[Int(id)] != text {
                lastText[Int(id)] = text
                documentFrequency[Int(id)] += 1
            }
            body(id)
        }
    }

    /// The id of the raw (unstemmed) token `raw`.
    private func intern(_ raw: UnsafeBufferPointer<UInt8>) -> Int32 {
        let h = ByteStringTable.hash(raw)
        if !stems || raw.count <= 3 { return internFinal(raw, hash: h) }
        // RougeTokenizer stems tokens longer than three characters (and drops an empty stem,
        // which the Porter stemmer never returns for such a token).
        if let known = rawToStem.find(raw, hash: h) { return rawToStem.value(at: known) }
        let stem = stemmer.stem(Array(raw))
        precondition(!stem.isEmpty, "the Porter stemmer returned an empty stem")
        let id = stem.withUnsafeBufferPointer { internFinal($0, hash: ByteStringTable.hash($0)) }
        _ = rawToStem.insert(raw, hash: h, value: id)
        return id
    }

    private func internFinal(_ token: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> Int32 {
        if let known = vocabulary.find(token, hash: h) { return Int32(known) }
        let id = Int32(vocabulary.count)
        _ = vocabulary.insert(token, hash: h, value: id)
        documentFrequency.append(0)
        lastText.append(0)
        return id
    }
}

/// Byte strings → dense entry numbers (in insertion order) with an `Int32` value each, in one
/// byte arena and an open-addressing table of entry numbers (at most half full).
struct ByteStringTable {
    private var arena: [UInt8] = []
    private var entryStart: [Int] = [0]
    private var entryHash: [UInt64] = []
    private var entryValue: [Int32] = []
    /// Entry number + 1 per slot; 0 = empty.
    private var slots = [Int32](repeating: 0, count: 1024)

    var count: Int { entryHash.count }

    func value(at entry: Int) -> Int32 { entryValue[entry] }

    func string(at entry: Int) -> String {
        String(decoding: arena[entryStart[entry]..<entryStart[entry + 1]], as: UTF8.self)
    }

    /// FNV-1a, 64 bits, then a final mix so the low bits are good.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h
    }

    /// The entry number of `bytes`, or nil.
    func find(_ bytes: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> Int? {
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[s]) - 1
            if e < 0 { return nil }
            if entryHash[e] == h && equal(e, bytes) { return e }
            s = (s + 1) & mask
        }
    }

    private func equal(_ entry: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = entryStart[entry], end = entryStart[entry + 1]
        if end - start != bytes.count { return false }
        return arena.withUnsafeBufferPointer { a in
            var i = 0
            while i < bytes.count {
                if a[start + i] != bytes[i] { return false }
                i += 1
            }
            return true
        }
    }

    /// Adds `bytes` (known to be absent); returns its entry number.
    mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, hash h: UInt64, value: Int32) -> Int {
        let entry = entryHash.count
        arena.append(contentsOf: bytes)
        entryStart.append(arena.count)
        entryHash.append(h)
        entryValue.append(value)
        if 2 * (entry + 1) > slots.count {
            slots = [Int32](repeating: 0, count: slots.count * 2)
            for e in 0...entry { place(e) }
        } else {
            place(entry)
        }
        return entry
    }

    private mutating func place(_ entry: Int) {
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: entryHash[entry]) & mask
        while slots[s] != 0 { s = (s + 1) & mask }
        slots[s] = Int32(entry + 1)
    }
}
