import Foundation

/// BERT WordPiece tokenizer that gives the same ids as Hugging Face `tokenizers` with the
/// tokenizer.json of sentence-transformers/all-MiniLM-L6-v2 (and any BERT uncased/cased folder
/// of the same shape):
///
/// 1. Special tokens written in the text ([CLS], [SEP], [PAD], [UNK], [MASK]: the added tokens,
///    exact case, matched leftmost-longest on the raw text) become their ids; the text between
///    them goes through 2–4.
/// 2. BertNormalizer: clean text (delete U+0000, U+FFFD and is_control = Cc Cf Co except
///    \t \n \r; turn \t \n \r and char::is_whitespace into spaces), spaces around CJK
///    ideographs, strip accents (NFD, then drop Mn), lowercase (Rust `char::to_lowercase`, so
///    `İ` gives `i` + U+0307 when accents are kept). The character classes are tables probed
///    from `tokenizers` itself (see Tests/EmbedTests/make_tokenizer_reference.py --tables): the
///    library's is_control, is_punctuation and Mn come from an older Unicode than Swift's.
/// 3. BertPreTokenizer: split on char::is_whitespace, isolate each punctuation character.
/// 4. WordPiece: greedy longest match first, "##" on every piece but the first; a word of more
///    than 100 characters, or one with a position where nothing matches, is a single [UNK].
///
/// `encode` wraps the ids in [CLS] … [SEP] and truncates to `maxLength` ids in all, the way
/// sentence-transformers does (truncation="longest_first", max_length=max_seq_length).
public struct WordPieceTokenizer: Sendable {
    /// Most ids `encode` returns, [CLS] and [SEP] included.
    public let maxLength: Int
    public let padID: Int32
    public let unkID: Int32
    public let clsID: Int32
    public let sepID: Int32
    /// Number of lines of vocab.txt (ids run from 0 to vocabularySize − 1).
    public let vocabularySize: Int

    public let lowercase: Bool
    public let stripAccents: Bool
    public let chineseChars: Bool
    public let cleanText: Bool
    public let maxInputCharsPerWord: Int

    private let words: ByteTable           // every vocabulary entry by its bytes
    private let continuations: ByteTable   // entries that start with "##", by the bytes after it
    private let idToToken: [String]
    private let added: [AddedToken]        // matched in the raw text, longest first
    private let addedFirstBytes: [Bool]    // 256 entries: can an added token start with this byte
    private let ascii: [UInt16]            // per ASCII byte: Action.rawValue << 8 | output byte
    private let unicode: UnicodeClasses

    private struct AddedToken: Sendable {
        var bytes: [UInt8]
        var id: Int32
    }

    // MARK: Loading

    /// Reads a Hugging Face / sentence-transformers model folder: vocab.txt (one token a line,
    /// id = line number; tokenizer.json's model.vocab when there is no vocab.txt), the
    /// normalizer, model and added tokens of tokenizer.json, tokenizer_config.json (do_lower_case,
    /// strip_accents, tokenize_chinese_chars and the special tokens override tokenizer.json, as
    /// transformers does) and the length: sentence_bert_config.json's max_seq_length, else
    /// tokenizer_config.json's model_max_length, else tokenizer.json's truncation, else 512.
    public init(modelDirectory: String) throws {
        let dir = URL(fileURLWithPath: modelDirectory, isDirectory: true)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw WordPieceTokenizerError.missing(path: dir.path, what: "model folder")
        }
        let vocabURL = dir.appendingPathComponent("vocab.txt")
        let tokenizerURL = dir.appendingPathComponent("tokenizer.json")
        let configURL = dir.appendingPathComponent("tokenizer_config.json")
        let stURL = dir.appendingPathComponent("sentence_bert_config.json")
        let fm = FileManager.default

        let tokenizerJSON = fm.fileExists(atPath: tokenizerURL.path) ? try Self.readObject(tokenizerURL) : nil
        let config = fm.fileExists(atPath: configURL.path) ? try Self.readObject(configURL) : nil
        let stConfig = fm.fileExists(atPath: stURL.path) ? try Self.readObject(stURL) : nil

        var lowercase = true, stripAccents: Bool? = nil, chinese = true, clean = true
        var unk = "[UNK]", cls = "[CLS]", sep = "[SEP]", pad = "[PAD]", mask = "[MASK]"
        var maxChars = 100
        var addedTokens: [String]? = nil
        var maxLength: Int? = nil

        if let tj = tokenizerJSON {
            let path = tokenizerURL.path
            if let norm = tj["normalizer"], !(norm is NSNull) {
                guard let n = norm as? [String: Any], n["type"] as? String == "BertNormalizer" else {
                    throw WordPieceTokenizerError.invalid(path: path, message: "normalizer: only BertNormalizer is supported, found \(Self.describe(norm))")
                }
                lowercase = try Self.bool(n, "lowercase", path, default: lowercase)
                clean = try Self.bool(n, "clean_text", path, default: clean)
                chinese = try Self.bool(n, "handle_chinese_chars", path, default: chinese)
                stripAccents = try Self.optionalBool(n, "strip_accents", path)
            }
            if let pre = tj["pre_tokenizer"], !(pre is NSNull) {
                guard let p = pre as? [String: Any], p["type"] as? String == "BertPreTokenizer" else {
                    throw WordPieceTokenizerError.invalid(path: path, message: "pre_tokenizer: only BertPreTokenizer is supported, found \(Self.describe(pre))")
                }
            }
            if let model = tj["model"] as? [String: Any] {
                guard model["type"] as? String == "WordPiece" else {
                    throw WordPieceTokenizerError.invalid(path: path, message: "model.type: only WordPiece is supported, found \(Self.describe(model["type"] ?? NSNull()))")
                }
                if let prefix = model["continuing_subword_prefix"], !(prefix is NSNull) {
                    guard prefix as? String == "##" else {
                        throw WordPieceTokenizerError.invalid(path: path, message: "model.continuing_subword_prefix: only \"##\" is supported, found \(Self.describe(prefix))")
                    }
                }
                if let u = model["unk_token"] as? String { unk = u }
                if let m = model["max_input_chars_per_word"] {
                    guard let v = m as? Int, v >= 0 else {
                        throw WordPieceTokenizerError.invalid(path: path, message: "model.max_input_chars_per_word: expected a non-negative integer, found \(Self.describe(m))")
                    }
                    maxChars = v
                }
            }
            if let list = tj["added_tokens"] as? [[String: Any]] {
                addedTokens = list.compactMap { $0["content"] as? String }
            }
            if let trunc = tj["truncation"] as? [String: Any], let m = trunc["max_length"] as? Int {
                maxLength = m
            }
        }
        if let c = config {
            let path = configURL.path
            lowercase = try Self.bool(c, "do_lower_case", path, default: lowercase)
            if c.keys.contains("strip_accents") { stripAccents = try Self.optionalBool(c, "strip_accents", path) }
            chinese = try Self.bool(c, "tokenize_chinese_chars", path, default: chinese)
            unk = try Self.token(c, "unk_token", path) ?? unk
            cls = try Self.token(c, "cls_token", path) ?? cls
            sep = try Self.token(c, "sep_token", path) ?? sep
            pad = try Self.token(c, "pad_token", path) ?? pad
            mask = try Self.token(c, "mask_token", path) ?? mask
            if let m = c["model_max_length"] {
                guard let v = m as? NSNumber, v.doubleValue >= 2 else {
                    throw WordPieceTokenizerError.invalid(path: path, message: "model_max_length: expected a number ≥ 2, found \(Self.describe(m))")
                }
                // transformers writes 1e30 for "no limit".
                maxLength = v.doubleValue > 1e9 ? maxLength : v.intValue
            }
        }
        if let s = stConfig {
            let path = stURL.path
            if let m = s["max_seq_length"], !(m is NSNull) {
                guard let v = m as? Int, v >= 2 else {
                    throw WordPieceTokenizerError.invalid(path: path, message: "max_seq_length: expected an integer ≥ 2, found \(Self.describe(m))")
                }
                maxLength = v
            }
            if try Self.bool(s, "do_lower_case", path, default: false) {
                throw WordPieceTokenizerError.invalid(path: path, message: "do_lower_case: true (Python str.lower() before tokenizing) is not supported")
            }
        }

        var vocabulary: [String]
        if fm.fileExists(atPath: vocabURL.path) {
            guard let data = fm.contents(atPath: vocabURL.path) else {
                throw WordPieceTokenizerError.unreadable(path: vocabURL.path)
            }
            guard String(data: data, encoding: .utf8) != nil else {
                throw WordPieceTokenizerError.invalid(path: vocabURL.path, message: "not valid UTF-8")
            }
            vocabulary = Self.lines(data)
        } else if let model = tokenizerJSON?["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Any] {
            vocabulary = Array(repeating: "", count: vocab.count)
            for (token, value) in vocab {
                guard let id = value as? Int, id >= 0, id < vocab.count else {
                    throw WordPieceTokenizerError.invalid(path: tokenizerURL.path, message: "model.vocab[\(token)]: expected an id in 0..<\(vocab.count), found \(Self.describe(value))")
                }
                vocabulary[id] = token
            }
        } else {
            throw WordPieceTokenizerError.missing(path: vocabURL.path, what: "vocabulary (vocab.txt, or model.vocab in tokenizer.json)")
        }
        guard !vocabulary.isEmpty else {
            throw WordPieceTokenizerError.invalid(path: vocabURL.path, message: "the vocabulary is empty")
        }
        guard vocabulary.contains(unk) else {
            throw WordPieceTokenizerError.invalid(path: vocabURL.path, message: "the unknown token \(unk) is not in the vocabulary")
        }
        for (name, t) in [("cls", cls), ("sep", sep)] where !vocabulary.contains(t) {
            throw WordPieceTokenizerError.invalid(path: vocabURL.path, message: "the \(name) token \(t) is not in the vocabulary")
        }
        let added = addedTokens ?? [pad, unk, cls, sep, mask]
        self.init(vocabulary: vocabulary, lowercase: lowercase, stripAccents: stripAccents ?? lowercase,
                  chineseChars: chinese, maxLength: maxLength ?? 512, unk: unk, cls: cls, sep: sep, pad: pad,
                  cleanText: clean, maxInputCharsPerWord: maxChars, addedTokens: added)
    }

    /// A tokenizer over `vocabulary` (id = index; a token listed twice keeps its last index, as
    /// the Rust HashMap does). `unk`, `cls` and `sep` must be in it; the pad id is 0 when `pad`
    /// is not. `addedTokens` are matched in the raw text before normalisation (default: the
    /// five BERT special tokens that are in the vocabulary).
    public init(vocabulary: [String], lowercase: Bool, stripAccents: Bool, chineseChars: Bool, maxLength: Int,
                unk: String = "[UNK]", cls: String = "[CLS]", sep: String = "[SEP]", pad: String = "[PAD]",
                cleanText: Bool = true, maxInputCharsPerWord: Int = 100, addedTokens: [String]? = nil) {
        var words = ByteTable.Builder(), continuations = ByteTable.Builder()
        var lastID: [String: Int32] = [:]
        for (i, token) in vocabulary.enumerated() {
            let bytes = Array(token.utf8)
            words.insert(bytes, id: Int32(i))
            if bytes.count > 2, bytes[0] == 0x23, bytes[1] == 0x23 {
                continuations.insert(Array(bytes[2...]), id: Int32(i))
            }
            lastID[token] = Int32(i)
        }
        guard let unkID = lastID[unk] else { preconditionFailure("WordPieceTokenizer: unknown token \(unk) is not in the vocabulary") }
        guard let clsID = lastID[cls] else { preconditionFailure("WordPieceTokenizer: \(cls) is not in the vocabulary") }
        guard let sepID = lastID[sep] else { preconditionFailure("WordPieceTokenizer: \(sep) is not in the vocabulary") }
        self.words = words.build()
        self.continuations = continuations.build()
        self.idToToken = vocabulary
        self.vocabularySize = vocabulary.count
        self.unkID = unkID
        self.clsID = clsID
        self.sepID = sepID
        self.padID = lastID[pad] ?? 0
        self.maxLength = max(2, maxLength)
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.chineseChars = chineseChars
        self.cleanText = cleanText
        self.maxInputCharsPerWord = maxInputCharsPerWord

        let addedList = addedTokens ?? [pad, unk, cls, sep, "[MASK]"]
        var seen = Set<String>()
        var added: [AddedToken] = []
        for t in addedList where !t.isEmpty && seen.insert(t).inserted {
            if let id = lastID[t] { added.append(AddedToken(bytes: Array(t.utf8), id: id)) }
        }
        added.sort { $0.bytes.count > $1.bytes.count }
        self.added = added
        var first = [Bool](repeating: false, count: 256)
        for a in added { first[Int(a.bytes[0])] = true }
        self.addedFirstBytes = first

        let unicode = UnicodeClasses.shared
        self.unicode = unicode
        // Per ASCII byte, the whole pipeline (ASCII never decomposes and lowercases to ASCII).
        var ascii = [UInt16](repeating: 0, count: 128)
        for b in 0..<128 {
            var c = UInt32(b)
            var f = unicode.flags(c)
            var action = Action.drop
            if cleanText, f & UnicodeClasses.removed != 0 {
                action = .drop
            } else {
                if cleanText, f & UnicodeClasses.space != 0 { c = 0x20; f = unicode.flags(c) }
                if lowercase, f & UnicodeClasses.lower != 0 { c = unicode.lowercase(c).first!; f = unicode.flags(c) }
                if f & UnicodeClasses.whitespace != 0 { action = .split }
                else if f & UnicodeClasses.punctuation != 0 { action = .punctuation }
                else { action = .char }
            }
            ascii[b] = UInt16(action.rawValue) << 8 | UInt16(c)
        }
        self.ascii = ascii
    }

    // MARK: Encoding

    /// [CLS] + the wordpiece ids of `text` + [SEP], at most `maxLength` ids in all.
    public func encode(_ text: String) -> [Int32] {
        var state = State(limit: maxLength - 2)
        state.ids.reserveCapacity(min(maxLength, text.utf8.count / 3 + 8))
        state.ids.append(clsID)
        run(text, &state)
        if state.ids.count > maxLength - 1 { state.ids.removeLast(state.ids.count - (maxLength - 1)) }
        state.ids.append(sepID)
        return state.ids
    }

    /// The wordpieces of `text` without [CLS]/[SEP] and without truncation (for debugging).
    public func tokens(_ text: String) -> [String] {
        var state = State(limit: Int.max)
        run(text, &state)
        return state.ids.map { idToToken[Int($0)] }
    }

    /// The vocabulary entry of an id.
    public func token(forID id: Int32) -> String? {
        id >= 0 && Int(id) < idToToken.count ? idToToken[Int(id)] : nil
    }

    private enum Action: UInt8 { case drop = 0, split, punctuation, char }

    private struct State {
        var ids: [Int32] = []
        var word: [UInt8] = []
        var starts: [Int32] = []              // byte offset of each character of `word`
        var pending: [(scalar: UInt32, ccc: UInt8)] = []   // NFD non-starters not yet in order
        var limit: Int                        // content ids wanted (ids holds [CLS] first in encode)
        var base: Int = 0                     // ids.count before the first content id
        var done = false

        init(limit: Int) {
            self.limit = limit
            word.reserveCapacity(64)
            starts.reserveCapacity(64)
        }
    }

    private func run(_ text: String, _ state: inout State) {
        state.base = state.ids.count
        var text = text
        text.withUTF8 { buf in
            let n = buf.count
            guard n > 0 else { return }
            if added.isEmpty {
                normalize(buf, 0, n, &state)
                return
            }
            var segment = 0, i = 0
            while i < n && !state.done {
                if addedFirstBytes[Int(buf[i])], let a = matchAdded(buf, i) {
                    normalize(buf, segment, i, &state)
                    if state.done { return }
                    state.ids.append(a.id)
                    checkDone(&state)
                    i += a.bytes.count
                    segment = i
                } else {
                    i += 1
                }
            }
            if !state.done { normalize(buf, segment, n, &state) }
        }
    }

    @inline(__always)
    private func matchAdded(_ buf: UnsafeBufferPointer<UInt8>, _ i: Int) -> AddedToken? {
        for a in added where i + a.bytes.count <= buf.count {   // longest first
            var k = 0
            while k < a.bytes.count && buf[i + k] == a.bytes[k] { k += 1 }
            if k == a.bytes.count { return a }
        }
        return nil
    }

    @inline(__always)
    private func checkDone(_ state: inout State) {
        if state.ids.count - state.base >= state.limit { state.done = true }
    }

    /// Normalises, pre-tokenises and wordpieces buf[from..<to] (whole UTF-8 characters).
    private func normalize(_ buf: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, _ state: inout State) {
        var i = from
        while i < to {
            if state.done { return }
            let b = buf[i]
            if b < 0x80 {
                i += 1
                let a = ascii[Int(b)]
                let action = UInt8(truncatingIfNeeded: a >> 8)
                if action == Action.drop.rawValue { continue }
                if !state.pending.isEmpty { flushPending(&state) }
                if action == Action.char.rawValue {
                    state.starts.append(Int32(state.word.count))
                    state.word.append(UInt8(truncatingIfNeeded: a))
                } else if action == Action.split.rawValue {
                    if !state.word.isEmpty { finishWord(&state) }
                } else {
                    if !state.word.isEmpty { finishWord(&state) }
                    state.starts.append(0)
                    state.word.append(UInt8(truncatingIfNeeded: a))
                    finishWord(&state)
                }
                continue
            }
            // Decode one scalar (the buffer is valid UTF-8).
            var c: UInt32
            if b < 0xE0 {
                c = UInt32(b & 0x1F) << 6 | UInt32(buf[i + 1] & 0x3F)
                i += 2
            } else if b < 0xF0 {
                c = UInt32(b & 0x0F) << 12 | UInt32(buf[i + 1] & 0x3F) << 6 | UInt32(buf[i + 2] & 0x3F)
                i += 3
            } else {
                c = UInt32(b & 0x07) << 18 | UInt32(buf[i + 1] & 0x3F) << 12
                    | UInt32(buf[i + 2] & 0x3F) << 6 | UInt32(buf[i + 3] & 0x3F)
                i += 4
            }
            var f = unicode.flags(c)
            if cleanText {
                if f & UnicodeClasses.removed != 0 { continue }
                if f & UnicodeClasses.space != 0 { c = 0x20; f = unicode.flags(c) }
            }
            if chineseChars && f & UnicodeClasses.chinese != 0 {
                strip(0x20, &state)
                strip(c, &state)
                strip(0x20, &state)
            } else {
                strip(c, &state)
            }
        }
        if !state.pending.isEmpty { flushPending(&state) }
        if !state.word.isEmpty { finishWord(&state) }
    }

    /// NFD, canonical reordering and dropping Mn (when stripping accents), then lowercase.
    private func strip(_ c: UInt32, _ state: inout State) {
        guard stripAccents else { lower(c, &state); return }
        if c < 0xC0 {   // no decomposition, combining class 0
            if !state.pending.isEmpty { flushPending(&state) }
            lower(c, &state)
            return
        }
        let f = unicode.flags(c)
        if f & UnicodeClasses.decomposes != 0 {
            if c >= 0xAC00 && c <= 0xD7A3 {   // Hangul syllable: L V (T), all starters
                if !state.pending.isEmpty { flushPending(&state) }
                let s = c - 0xAC00
                lower(0x1100 + s / 588, &state)
                lower(0x1161 + (s % 588) / 28, &state)
                if s % 28 != 0 { lower(0x11A7 + s % 28, &state) }
                return
            }
            let d = unicode.decomposition(c)
            for k in d.indices { stripOne(d[k], &state) }
        } else {
            stripOne(c, &state)
        }
    }

    @inline(__always)
    private func stripOne(_ c: UInt32, _ state: inout State) {
        let ccc: UInt8 = c < 0x300 ? 0 : Unicode.Scalar(c).map { $0.properties.canonicalCombiningClass.rawValue } ?? 0
        if ccc == 0 && !state.pending.isEmpty { flushPending(&state) }
        if unicode.flags(c) & UnicodeClasses.mark != 0 { return }
        if ccc == 0 {
            lower(c, &state)
        } else {   // stable insertion by combining class
            var k = state.pending.count
            state.pending.append((c, ccc))
            while k > 0 && state.pending[k - 1].ccc > ccc {
                state.pending[k] = state.pending[k - 1]
                k -= 1
            }
            state.pending[k] = (c, ccc)
        }
    }

    private func flushPending(_ state: inout State) {
        let p = state.pending
        state.pending.removeAll(keepingCapacity: true)
        for x in p { lower(x.scalar, &state) }
    }

    @inline(__always)
    private func lower(_ c: UInt32, _ state: inout State) {
        if lowercase {
            if c < 0x80 {
                emit(c >= 0x41 && c <= 0x5A ? c + 0x20 : c, &state)
                return
            }
            if unicode.flags(c) & UnicodeClasses.lower != 0 {
                let l = unicode.lowercase(c)
                for k in l.indices { emit(l[k], &state) }
                return
            }
        }
        emit(c, &state)
    }

    /// Pre-tokeniser: whitespace ends a word, punctuation is a word of its own.
    private func emit(_ c: UInt32, _ state: inout State) {
        let f = unicode.flags(c)
        if f & UnicodeClasses.whitespace != 0 {
            if !state.word.isEmpty { finishWord(&state) }
            return
        }
        let punct = f & UnicodeClasses.punctuation != 0
        if punct && !state.word.isEmpty { finishWord(&state) }
        state.starts.append(Int32(state.word.count))
        if c < 0x80 {
            state.word.append(UInt8(c))
        } else if c < 0x800 {
            state.word.append(UInt8(0xC0 | c >> 6))
            state.word.append(UInt8(0x80 | c & 0x3F))
        } else if c < 0x10000 {
            state.word.append(UInt8(0xE0 | c >> 12))
            state.word.append(UInt8(0x80 | (c >> 6) & 0x3F))
            state.word.append(UInt8(0x80 | c & 0x3F))
        } else {
            state.word.append(UInt8(0xF0 | c >> 18))
            state.word.append(UInt8(0x80 | (c >> 12) & 0x3F))
            state.word.append(UInt8(0x80 | (c >> 6) & 0x3F))
            state.word.append(UInt8(0x80 | c & 0x3F))
        }
        if punct { finishWord(&state) }
    }

    /// WordPiece on the current word, then clears it.
    private func finishWord(_ state: inout State) {
        defer {
            state.word.removeAll(keepingCapacity: true)
            state.starts.removeAll(keepingCapacity: true)
            checkDone(&state)
        }
        let n = state.starts.count
        if n > maxInputCharsPerWord {
            state.ids.append(unkID)
            return
        }
        let first = state.ids.count
        let ok: Bool = state.word.withUnsafeBufferPointer { w in
            state.starts.withUnsafeBufferPointer { starts in
                var start = 0
                while start < n {
                    let lo = Int(starts[start])
                    let table = start == 0 ? words : continuations
                    var end = n
                    var found: Int32 = -1
                    while end > start {
                        let hi = end == n ? w.count : Int(starts[end])
                        if hi - lo <= table.maxKeyLength, let id = table.find(w, lo, hi) {
                            found = id
                            break
                        }
                        end -= 1
                    }
                    if found < 0 { return false }
                    state.ids.append(found)
                    start = end
                }
                return true
            }
        }
        if !ok {
            state.ids.removeLast(state.ids.count - first)
            state.ids.append(unkID)
        }
    }

    // MARK: JSON helpers

    private static func readObject(_ url: URL) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw WordPieceTokenizerError.unreadable(path: url.path)
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw WordPieceTokenizerError.invalid(path: url.path, message: "not valid JSON (\(error.localizedDescription))")
        }
        guard let dict = object as? [String: Any] else {
            throw WordPieceTokenizerError.invalid(path: url.path, message: "expected a JSON object at the top level")
        }
        return dict
    }

    private static func bool(_ d: [String: Any], _ key: String, _ path: String, default value: Bool) throws -> Bool {
        guard let v = d[key], !(v is NSNull) else { return value }
        if let b = v as? Bool { return b }
        throw WordPieceTokenizerError.invalid(path: path, message: "\(key): expected true or false, found \(describe(v))")
    }

    private static func optionalBool(_ d: [String: Any], _ key: String, _ path: String) throws -> Bool? {
        guard let v = d[key], !(v is NSNull) else { return nil }
        return try bool(d, key, path, default: false)
    }

    /// A special token written as "[UNK]" or as {"content": "[UNK]", …}.
    private static func token(_ d: [String: Any], _ key: String, _ path: String) throws -> String? {
        guard let v = d[key], !(v is NSNull) else { return nil }
        if let s = v as? String { return s }
        if let o = v as? [String: Any], let s = o["content"] as? String { return s }
        throw WordPieceTokenizerError.invalid(path: path, message: "\(key): expected a string or {\"content\": …}, found \(describe(v))")
    }

    private static func describe(_ v: Any) -> String {
        if v is NSNull { return "null" }
        if let s = v as? String { return "\"\(s)\"" }
        if let o = v as? [String: Any] { return o["type"].map { "type \(describe($0))" } ?? "an object" }
        if v is [Any] { return "an array" }
        return "\(v)"
    }

    /// Lines as Rust's `BufRead::lines` gives them (split on \n, one trailing \r dropped, no
    /// empty line after a final \n), each with trailing whitespace trimmed (`trim_end`).
    static func lines(_ data: Data) -> [String] {
        var out: [String] = []
        var parts = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        if let last = parts.last, last.isEmpty { parts.removeLast() }
        out.reserveCapacity(parts.count)
        for p in parts {
            var s = String(decoding: p, as: UTF8.self).unicodeScalars[...]
            while let last = s.last, last.properties.isWhitespace { s.removeLast() }
            out.append(String(String.UnicodeScalarView(s)))
        }
        return out
    }
}

public enum WordPieceTokenizerError: Error, CustomStringConvertible, LocalizedError {
    case missing(path: String, what: String)
    case unreadable(path: String)
    case invalid(path: String, message: String)

    public var description: String {
        switch self {
        case let .missing(path, what): return "\(path): missing (\(what)); run `make models` to fetch all-MiniLM-L6-v2"
        case let .unreadable(path): return "\(path): cannot be read"
        case let .invalid(path, message): return "\(path): \(message)"
        }
    }

    public var errorDescription: String? { description }
}

// MARK: - Vocabulary hash table keyed by UTF-8 bytes

/// Open addressing over byte strings; ids of later duplicates win.
private struct ByteTable: Sendable {
    private var bytes: [UInt8] = []
    private var offsets: [Int32] = []
    private var lengths: [Int32] = []
    private var ids: [Int32] = []
    private var slots: [Int32] = []   // entry index, or −1
    private var mask = 0
    private(set) var maxKeyLength = 0

    struct Builder {
        var keys: [[UInt8]] = []
        var ids: [Int32] = []
        mutating func insert(_ key: [UInt8], id: Int32) {
            keys.append(key)
            ids.append(id)
        }

        func build() -> ByteTable {
            var t = ByteTable()
            var capacity = 16
            while capacity < keys.count * 2 { capacity <<= 1 }
            t.slots = [Int32](repeating: -1, count: capacity)
            t.mask = capacity - 1
            for (key, id) in zip(keys, ids) {
                key.withUnsafeBufferPointer { k in
                    if let e = t.entry(k, 0, k.count) {
                        t.ids[e] = id
                        return
                    }
                    var s = Int(ByteTable.hash(k, 0, k.count)) & t.mask
                    while t.slots[s] >= 0 { s = (s + 1) & t.mask }
                    t.slots[s] = Int32(t.ids.count)
                    t.offsets.append(Int32(t.bytes.count))
                    t.lengths.append(Int32(k.count))
                    t.ids.append(id)
                    t.bytes.append(contentsOf: k)
                    t.maxKeyLength = max(t.maxKeyLength, k.count)
                }
            }
            return t
        }
    }

    @inline(__always)
    static func hash(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        var i = lo
        while i < hi {
            h = (h ^ UInt32(p[i])) &* 16_777_619
            i += 1
        }
        return h ^ (h >> 15)
    }

    @inline(__always)
    func find(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> Int32? {
        entry(p, lo, hi).map { ids[$0] }
    }

    @inline(__always)
    private func entry(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> Int? {
        if slots.isEmpty { return nil }
        let n = hi - lo
        return slots.withUnsafeBufferPointer { slots in
            bytes.withUnsafeBufferPointer { bytes in
                var s = Int(Self.hash(p, lo, hi)) & mask
                while true {
                    let e = Int(slots[s])
                    if e < 0 { return nil }
                    if Int(lengths[e]) == n {
                        let off = Int(offsets[e])
                        var k = 0
                        while k < n && bytes[off + k] == p[lo + k] { k += 1 }
                        if k == n { return e }
                    }
                    s = (s + 1) & mask
                }
            }
        }
    }
}

// MARK: - Character classes

/// The Unicode side of BertNormalizer and BertPreTokenizer, from the generated tables below:
/// one flag byte per code point (two-level table) plus the NFD and lowercase mappings.
final class UnicodeClasses: Sendable {
    static let removed: UInt8 = 1, space: UInt8 = 2, chinese: UInt8 = 4, decomposes: UInt8 = 8
    static let mark: UInt8 = 16, lower: UInt8 = 32, whitespace: UInt8 = 64, punctuation: UInt8 = 128

    static let shared = UnicodeClasses()

    private let index: [UInt16]   // per 256-code-point block, the block's start in `blocks` / 256
    private let blocks: [UInt8]
    private let decompositionMap: [UInt32: UInt32]   // code point → offset << 3 | count into pool
    private let lowercaseMap: [UInt32: UInt32]
    private let pool: [UInt32]

    private init() {
        var flags = [UInt8](repeating: 0, count: 0x110000)
        func mark(_ ranges: String, _ bit: UInt8) {
            for item in ranges.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
                let parts = item.split(separator: "-")
                let lo = Int(parts[0], radix: 16)!, hi = parts.count > 1 ? Int(parts[1], radix: 16)! : lo
                for c in lo...hi { flags[c] |= bit }
            }
        }
        mark(WordPieceUnicodeTables.removed, Self.removed)
        mark(WordPieceUnicodeTables.space, Self.space)
        mark(WordPieceUnicodeTables.chinese, Self.chinese)
        mark(WordPieceUnicodeTables.mark, Self.mark)
        mark(WordPieceUnicodeTables.whitespace, Self.whitespace)
        mark(WordPieceUnicodeTables.punctuation, Self.punctuation)
        for c in 0xAC00...0xD7A3 { flags[c] |= Self.decomposes }
        var pool: [UInt32] = []
        func map(_ text: String, _ bit: UInt8) -> [UInt32: UInt32] {
            var m: [UInt32: UInt32] = [:]
            for item in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
                let kv = item.split(separator: ":")
                let key = UInt32(kv[0], radix: 16)!
                let values = kv[1].split(separator: ",").map { UInt32($0, radix: 16)! }
                m[key] = UInt32(pool.count) << 3 | UInt32(values.count)
                pool.append(contentsOf: values)
                flags[Int(key)] |= bit
            }
            return m
        }
        decompositionMap = map(WordPieceUnicodeTables.decomposition, Self.decomposes)
        lowercaseMap = map(WordPieceUnicodeTables.lowercase, Self.lower)
        self.pool = pool

        var index = [UInt16](repeating: 0, count: 0x1100)
        var blocks: [UInt8] = []
        var seen: [[UInt8]: UInt16] = [:]
        for b in 0..<0x1100 {
            let block = Array(flags[(b << 8)..<((b + 1) << 8)])
            if let k = seen[block] {
                index[b] = k
            } else {
                let k = UInt16(blocks.count >> 8)
                seen[block] = k
                blocks.append(contentsOf: block)
                index[b] = k
            }
        }
        self.index = index
        self.blocks = blocks
    }

    @inline(__always)
    func flags(_ c: UInt32) -> UInt8 {
        blocks[Int(index[Int(c >> 8)]) << 8 | Int(c & 0xFF)]
    }

    func decomposition(_ c: UInt32) -> ArraySlice<UInt32> { slice(decompositionMap[c] ?? 0, c) }
    func lowercase(_ c: UInt32) -> ArraySlice<UInt32> { slice(lowercaseMap[c] ?? 0, c) }

    @inline(__always)
    private func slice(_ v: UInt32, _ c: UInt32) -> ArraySlice<UInt32> {
        if v == 0 { return [c][...] }
        let off = Int(v >> 3)
        return pool[off..<(off + Int(v & 7))]
    }
}

// BEGIN GENERATED TABLES: make_tokenizer_reference.py --tables, probed from tokenizers 0.23.3. Do not edit by hand.
enum WordPieceUnicodeTables {
    /// clean_text deletes these (U+0000, U+FFFD, is_control: Cc Cf Co except \t \n \r)
    static let removed = """
        0-8 b-c e-1f 7f-9f ad 600-605 61c 6dd 70f 180e 200b-200f 202a-202e 2060-2064 2066-206f e000-f8ff
        feff fff9-fffb fffd 110bd 1bca0-1bca3 1d173-1d17a e0001 e0020-e007f f0000-ffffd 100000-10fffd
        """
    /// clean_text turns these into U+0020 (\t \n \r and char::is_whitespace)
    static let space = """
        9-a d a0 1680 2000-200a 2028-2029 202f 205f 3000
        """
    /// handle_chinese_chars puts spaces around these
    static let chinese = """
        3400-4dbf 4e00-9fff f900-faff 20000-2a6df 2a700-2b81f 2b920-2ceaf 2f800-2fa1f
        """
    /// strip_accents drops these after NFD (Mn in the unicode_categories tables)
    static let mark = """
        300-33f 342 345-36f 483-487 591-5bd 5bf 5c1-5c2 5c4-5c5 5c7 610-61a 64b-65f 670 6d6-6dc 6df-6e4
        6e7-6e8 6ea-6ed 711 730-74a 7a6-7b0 7eb-7f3 816-819 81b-823 825-827 829-82d 859-85b 8e3-902 93a
        93c 941-948 94d 951-957 962-963 981 9bc 9c1-9c4 9cd 9e2-9e3 a01-a02 a3c a41-a42 a47-a48 a4b-a4d
        a51 a70-a71 a75 a81-a82 abc ac1-ac5 ac7-ac8 acd ae2-ae3 b01 b3c b3f b41-b44 b4d b56 b62-b63 b82
        bc0 bcd c00 c3e-c40 c46-c47 c4a-c4d c55-c56 c62-c63 c81 cbc cbf cc6 ccc-ccd ce2-ce3 d01 d41-d44
        d4d d62-d63 dca dd2-dd4 dd6 e31 e34-e3a e47-e4e eb1 eb4-eb9 ebb-ebc ec8-ecd f18-f19 f35 f37 f39
        f71-f72 f74 f77 f79-f7e f80 f82-f84 f86-f87 f8d-f92 f94-f97 f99-f9c f9e-fa1 fa3-fa6 fa8-fab
        fad-fb8 fba-fbc fc6 102d-1030 1032-1037 1039-103a 103d-103e 1058-1059 105e-1060 1071-1074 1082
        1085-1086 108d 109d 135d-135f 1712-1714 1732-1734 1752-1753 1772-1773 17b4-17b5 17b7-17bd 17c6
        17c9-17d3 17dd 180b-180d 18a9 1920-1922 1927-1928 1932 1939-193b 1a17-1a18 1a1b 1a56 1a58-1a5e
        1a60 1a62 1a65-1a6c 1a73-1a7c 1a7f 1ab0-1abd 1b00-1b03 1b34 1b36-1b3a 1b3c 1b42 1b6b-1b73
        1b80-1b81 1ba2-1ba5 1ba8-1ba9 1bab-1bad 1be6 1be8-1be9 1bed 1bef-1bf1 1c2c-1c33 1c36-1c37
        1cd0-1cd2 1cd4-1ce0 1ce2-1ce8 1ced 1cf4 1cf8-1cf9 1dc0-1df5 1dfc-1dff 20d0-20dc 20e1 20e5-20f0
        2cef-2cf1 2d7f 2de0-2dff 302a-302d 3099-309a a66f a674-a67d a69e-a69f a6f0-a6f1 a802 a806 a80b
        a825-a826 a8c4 a8e0-a8f1 a926-a92d a947-a951 a980-a982 a9b3 a9b6-a9b9 a9bc a9e5 aa29-aa2e
        aa31-aa32 aa35-aa36 aa43 aa4c aa7c aab0 aab2-aab4 aab7-aab8 aabe-aabf aac1 aaec-aaed aaf6 abe5
        abe8 abed fb1e fe00-fe0f fe20-fe2f 101fd 102e0 10376-1037a 10a01-10a03 10a05-10a06 10a0c-10a0f
        10a38-10a3a 10a3f 10ae5-10ae6 11001 11038-11046 1107f-11081 110b3-110b6 110b9-110ba 11100-11102
        11127-1112b 1112d 11130-11134 11173 11180-11181 111b6-111be 111ca-111cc 1122f-11231 11234
        11236-11237 112df 112e3-112ea 11300-11301 1133c 11340 11366-1136c 11370-11374 114b3-114b8 114ba
        114bf-114c0 114c2-114c3 115b2-115b5 115bc-115bd 115bf-115c0 115dc-115dd 11633-1163a 1163d
        1163f-11640 116ab 116ad 116b0-116b5 116b7 1171d-1171f 11722-11725 11727-1172b 16af0-16af4
        16b30-16b36 16f8f-16f92 1bc9d-1bc9e 1d167-1d169 1d17b-1d182 1d185-1d18b 1d1aa-1d1ad 1d242-1d244
        1da00-1da36 1da3b-1da6c 1da75 1da84 1da9b-1da9f 1daa1-1daaf 1e8d0-1e8d6 e0100-e01ef
        """
    /// BertPreTokenizer splits on these (char::is_whitespace)
    static let whitespace = """
        9-d 20 85 a0 1680 2000-200a 2028-2029 202f 205f 3000
        """
    /// BertPreTokenizer isolates these (is_ascii_punctuation or is_punctuation)
    static let punctuation = """
        21-2f 3a-40 5b-60 7b-7e a1 a7 ab b6-b7 bb bf 37e 387 55a-55f 589-58a 5be 5c0 5c3 5c6 5f3-5f4
        609-60a 60c-60d 61b 61e-61f 66a-66d 6d4 700-70d 7f7-7f9 830-83e 85e 964-965 970 af0 df4 e4f
        e5a-e5b f04-f12 f14 f3a-f3d f85 fd0-fd4 fd9-fda 104a-104f 10fb 1360-1368 1400 166d-166e
        169b-169c 16eb-16ed 1735-1736 17d4-17d6 17d8-17da 1800-180a 1944-1945 1a1e-1a1f 1aa0-1aa6
        1aa8-1aad 1b5a-1b60 1bfc-1bff 1c3b-1c3f 1c7e-1c7f 1cc0-1cc7 1cd3 2010-2027 2030-2043 2045-2051
        2053-205e 207d-207e 208d-208e 2308-230b 2329-232a 2768-2775 27c5-27c6 27e6-27ef 2983-2998
        29d8-29db 29fc-29fd 2cf9-2cfc 2cfe-2cff 2d70 2e00-2e2e 2e30-2e42 3001-3003 3008-3011 3014-301f
        3030 303d 30a0 30fb a4fe-a4ff a60d-a60f a673 a67e a6f2-a6f7 a874-a877 a8ce-a8cf a8f8-a8fa a8fc
        a92e-a92f a95f a9c1-a9cd a9de-a9df aa5c-aa5f aade-aadf aaf0-aaf1 abeb fd3e-fd3f fe10-fe19
        fe30-fe52 fe54-fe61 fe63 fe68 fe6a-fe6b ff01-ff03 ff05-ff0a ff0c-ff0f ff1a-ff1b ff1f-ff20
        ff3b-ff3d ff3f ff5b ff5d ff5f-ff65 10100-10102 1039f 103d0 1056f 10857 1091f 1093f 10a50-10a58
        10a7f 10af0-10af6 10b39-10b3f 10b99-10b9c 11047-1104d 110bb-110bc 110be-110c1 11140-11143
        11174-11175 111c5-111c9 111cd 111db 111dd-111df 11238-1123d 112a9 114c6 115c1-115d7 11641-11643
        1173c-1173e 12470-12474 16a6e-16a6f 16af5 16b37-16b3b 16b44 1bc9f 1da87-1da8b
        """
    /// NFD of each code point that has one (Hangul syllables are algorithmic)
    static let decomposition = """
        c0:41,300 c1:41,301 c2:41,302 c3:41,303 c4:41,308 c5:41,30a c7:43,327 c8:45,300 c9:45,301
        ca:45,302 cb:45,308 cc:49,300 cd:49,301 ce:49,302 cf:49,308 d1:4e,303 d2:4f,300 d3:4f,301
        d4:4f,302 d5:4f,303 d6:4f,308 d9:55,300 da:55,301 db:55,302 dc:55,308 dd:59,301 e0:61,300
        e1:61,301 e2:61,302 e3:61,303 e4:61,308 e5:61,30a e7:63,327 e8:65,300 e9:65,301 ea:65,302
        eb:65,308 ec:69,300 ed:69,301 ee:69,302 ef:69,308 f1:6e,303 f2:6f,300 f3:6f,301 f4:6f,302
        f5:6f,303 f6:6f,308 f9:75,300 fa:75,301 fb:75,302 fc:75,308 fd:79,301 ff:79,308 100:41,304
        101:61,304 102:41,306 103:61,306 104:41,328 105:61,328 106:43,301 107:63,301 108:43,302
        109:63,302 10a:43,307 10b:63,307 10c:43,30c 10d:63,30c 10e:44,30c 10f:64,30c 112:45,304
        113:65,304 114:45,306 115:65,306 116:45,307 117:65,307 118:45,328 119:65,328 11a:45,30c
        11b:65,30c 11c:47,302 11d:67,302 11e:47,306 11f:67,306 120:47,307 121:67,307 122:47,327
        123:67,327 124:48,302 125:68,302 128:49,303 129:69,303 12a:49,304 12b:69,304 12c:49,306
        12d:69,306 12e:49,328 12f:69,328 130:49,307 134:4a,302 135:6a,302 136:4b,327 137:6b,327
        139:4c,301 13a:6c,301 13b:4c,327 13c:6c,327 13d:4c,30c 13e:6c,30c 143:4e,301 144:6e,301
        145:4e,327 146:6e,327 147:4e,30c 148:6e,30c 14c:4f,304 14d:6f,304 14e:4f,306 14f:6f,306
        150:4f,30b 151:6f,30b 154:52,301 155:72,301 156:52,327 157:72,327 158:52,30c 159:72,30c
        15a:53,301 15b:73,301 15c:53,302 15d:73,302 15e:53,327 15f:73,327 160:53,30c 161:73,30c
        162:54,327 163:74,327 164:54,30c 165:74,30c 168:55,303 169:75,303 16a:55,304 16b:75,304
        16c:55,306 16d:75,306 16e:55,30a 16f:75,30a 170:55,30b 171:75,30b 172:55,328 173:75,328
        174:57,302 175:77,302 176:59,302 177:79,302 178:59,308 179:5a,301 17a:7a,301 17b:5a,307
        17c:7a,307 17d:5a,30c 17e:7a,30c 1a0:4f,31b 1a1:6f,31b 1af:55,31b 1b0:75,31b 1cd:41,30c
        1ce:61,30c 1cf:49,30c 1d0:69,30c 1d1:4f,30c 1d2:6f,30c 1d3:55,30c 1d4:75,30c 1d5:55,308,304
        1d6:75,308,304 1d7:55,308,301 1d8:75,308,301 1d9:55,308,30c 1da:75,308,30c 1db:55,308,300
        1dc:75,308,300 1de:41,308,304 1df:61,308,304 1e0:41,307,304 1e1:61,307,304 1e2:c6,304 1e3:e6,304
        1e6:47,30c 1e7:67,30c 1e8:4b,30c 1e9:6b,30c 1ea:4f,328 1eb:6f,328 1ec:4f,328,304 1ed:6f,328,304
        1ee:1b7,30c 1ef:292,30c 1f0:6a,30c 1f4:47,301 1f5:67,301 1f8:4e,300 1f9:6e,300 1fa:41,30a,301
        1fb:61,30a,301 1fc:c6,301 1fd:e6,301 1fe:d8,301 1ff:f8,301 200:41,30f 201:61,30f 202:41,311
        203:61,311 204:45,30f 205:65,30f 206:45,311 207:65,311 208:49,30f 209:69,30f 20a:49,311
        20b:69,311 20c:4f,30f 20d:6f,30f 20e:4f,311 20f:6f,311 210:52,30f 211:72,30f 212:52,311
        213:72,311 214:55,30f 215:75,30f 216:55,311 217:75,311 218:53,326 219:73,326 21a:54,326
        21b:74,326 21e:48,30c 21f:68,30c 226:41,307 227:61,307 228:45,327 229:65,327 22a:4f,308,304
        22b:6f,308,304 22c:4f,303,304 22d:6f,303,304 22e:4f,307 22f:6f,307 230:4f,307,304 231:6f,307,304
        232:59,304 233:79,304 340:300 341:301 343:313 344:308,301 374:2b9 37e:3b 385:a8,301 386:391,301
        387:b7 388:395,301 389:397,301 38a:399,301 38c:39f,301 38e:3a5,301 38f:3a9,301 390:3b9,308,301
        3aa:399,308 3ab:3a5,308 3ac:3b1,301 3ad:3b5,301 3ae:3b7,301 3af:3b9,301 3b0:3c5,308,301
        3ca:3b9,308 3cb:3c5,308 3cc:3bf,301 3cd:3c5,301 3ce:3c9,301 3d3:3d2,301 3d4:3d2,308 400:415,300
        401:415,308 403:413,301 407:406,308 40c:41a,301 40d:418,300 40e:423,306 419:418,306 439:438,306
        450:435,300 451:435,308 453:433,301 457:456,308 45c:43a,301 45d:438,300 45e:443,306 476:474,30f
        477:475,30f 4c1:416,306 4c2:436,306 4d0:410,306 4d1:430,306 4d2:410,308 4d3:430,308 4d6:415,306
        4d7:435,306 4da:4d8,308 4db:4d9,308 4dc:416,308 4dd:436,308 4de:417,308 4df:437,308 4e2:418,304
        4e3:438,304 4e4:418,308 4e5:438,308 4e6:41e,308 4e7:43e,308 4ea:4e8,308 4eb:4e9,308 4ec:42d,308
        4ed:44d,308 4ee:423,304 4ef:443,304 4f0:423,308 4f1:443,308 4f2:423,30b 4f3:443,30b 4f4:427,308
        4f5:447,308 4f8:42b,308 4f9:44b,308 622:627,653 623:627,654 624:648,654 625:627,655 626:64a,654
        6c0:6d5,654 6c2:6c1,654 6d3:6d2,654 929:928,93c 931:930,93c 934:933,93c 958:915,93c 959:916,93c
        95a:917,93c 95b:91c,93c 95c:921,93c 95d:922,93c 95e:92b,93c 95f:92f,93c 9cb:9c7,9be 9cc:9c7,9d7
        9dc:9a1,9bc 9dd:9a2,9bc 9df:9af,9bc a33:a32,a3c a36:a38,a3c a59:a16,a3c a5a:a17,a3c a5b:a1c,a3c
        a5e:a2b,a3c b48:b47,b56 b4b:b47,b3e b4c:b47,b57 b5c:b21,b3c b5d:b22,b3c b94:b92,bd7 bca:bc6,bbe
        bcb:bc7,bbe bcc:bc6,bd7 c48:c46,c56 cc0:cbf,cd5 cc7:cc6,cd5 cc8:cc6,cd6 cca:cc6,cc2
        ccb:cc6,cc2,cd5 d4a:d46,d3e d4b:d47,d3e d4c:d46,d57 dda:dd9,dca ddc:dd9,dcf ddd:dd9,dcf,dca
        dde:dd9,ddf f43:f42,fb7 f4d:f4c,fb7 f52:f51,fb7 f57:f56,fb7 f5c:f5b,fb7 f69:f40,fb5 f73:f71,f72
        f75:f71,f74 f76:fb2,f80 f78:fb3,f80 f81:f71,f80 f93:f92,fb7 f9d:f9c,fb7 fa2:fa1,fb7 fa7:fa6,fb7
        fac:fab,fb7 fb9:f90,fb5 1026:1025,102e 1b06:1b05,1b35 1b08:1b07,1b35 1b0a:1b09,1b35
        1b0c:1b0b,1b35 1b0e:1b0d,1b35 1b12:1b11,1b35 1b3b:1b3a,1b35 1b3d:1b3c,1b35 1b40:1b3e,1b35
        1b41:1b3f,1b35 1b43:1b42,1b35 1e00:41,325 1e01:61,325 1e02:42,307 1e03:62,307 1e04:42,323
        1e05:62,323 1e06:42,331 1e07:62,331 1e08:43,327,301 1e09:63,327,301 1e0a:44,307 1e0b:64,307
        1e0c:44,323 1e0d:64,323 1e0e:44,331 1e0f:64,331 1e10:44,327 1e11:64,327 1e12:44,32d 1e13:64,32d
        1e14:45,304,300 1e15:65,304,300 1e16:45,304,301 1e17:65,304,301 1e18:45,32d 1e19:65,32d
        1e1a:45,330 1e1b:65,330 1e1c:45,327,306 1e1d:65,327,306 1e1e:46,307 1e1f:66,307 1e20:47,304
        1e21:67,304 1e22:48,307 1e23:68,307 1e24:48,323 1e25:68,323 1e26:48,308 1e27:68,308 1e28:48,327
        1e29:68,327 1e2a:48,32e 1e2b:68,32e 1e2c:49,330 1e2d:69,330 1e2e:49,308,301 1e2f:69,308,301
        1e30:4b,301 1e31:6b,301 1e32:4b,323 1e33:6b,323 1e34:4b,331 1e35:6b,331 1e36:4c,323 1e37:6c,323
        1e38:4c,323,304 1e39:6c,323,304 1e3a:4c,331 1e3b:6c,331 1e3c:4c,32d 1e3d:6c,32d 1e3e:4d,301
        1e3f:6d,301 1e40:4d,307 1e41:6d,307 1e42:4d,323 1e43:6d,323 1e44:4e,307 1e45:6e,307 1e46:4e,323
        1e47:6e,323 1e48:4e,331 1e49:6e,331 1e4a:4e,32d 1e4b:6e,32d 1e4c:4f,303,301 1e4d:6f,303,301
        1e4e:4f,303,308 1e4f:6f,303,308 1e50:4f,304,300 1e51:6f,304,300 1e52:4f,304,301 1e53:6f,304,301
        1e54:50,301 1e55:70,301 1e56:50,307 1e57:70,307 1e58:52,307 1e59:72,307 1e5a:52,323 1e5b:72,323
        1e5c:52,323,304 1e5d:72,323,304 1e5e:52,331 1e5f:72,331 1e60:53,307 1e61:73,307 1e62:53,323
        1e63:73,323 1e64:53,301,307 1e65:73,301,307 1e66:53,30c,307 1e67:73,30c,307 1e68:53,323,307
        1e69:73,323,307 1e6a:54,307 1e6b:74,307 1e6c:54,323 1e6d:74,323 1e6e:54,331 1e6f:74,331
        1e70:54,32d 1e71:74,32d 1e72:55,324 1e73:75,324 1e74:55,330 1e75:75,330 1e76:55,32d 1e77:75,32d
        1e78:55,303,301 1e79:75,303,301 1e7a:55,304,308 1e7b:75,304,308 1e7c:56,303 1e7d:76,303
        1e7e:56,323 1e7f:76,323 1e80:57,300 1e81:77,300 1e82:57,301 1e83:77,301 1e84:57,308 1e85:77,308
        1e86:57,307 1e87:77,307 1e88:57,323 1e89:77,323 1e8a:58,307 1e8b:78,307 1e8c:58,308 1e8d:78,308
        1e8e:59,307 1e8f:79,307 1e90:5a,302 1e91:7a,302 1e92:5a,323 1e93:7a,323 1e94:5a,331 1e95:7a,331
        1e96:68,331 1e97:74,308 1e98:77,30a 1e99:79,30a 1e9b:17f,307 1ea0:41,323 1ea1:61,323 1ea2:41,309
        1ea3:61,309 1ea4:41,302,301 1ea5:61,302,301 1ea6:41,302,300 1ea7:61,302,300 1ea8:41,302,309
        1ea9:61,302,309 1eaa:41,302,303 1eab:61,302,303 1eac:41,323,302 1ead:61,323,302 1eae:41,306,301
        1eaf:61,306,301 1eb0:41,306,300 1eb1:61,306,300 1eb2:41,306,309 1eb3:61,306,309 1eb4:41,306,303
        1eb5:61,306,303 1eb6:41,323,306 1eb7:61,323,306 1eb8:45,323 1eb9:65,323 1eba:45,309 1ebb:65,309
        1ebc:45,303 1ebd:65,303 1ebe:45,302,301 1ebf:65,302,301 1ec0:45,302,300 1ec1:65,302,300
        1ec2:45,302,309 1ec3:65,302,309 1ec4:45,302,303 1ec5:65,302,303 1ec6:45,323,302 1ec7:65,323,302
        1ec8:49,309 1ec9:69,309 1eca:49,323 1ecb:69,323 1ecc:4f,323 1ecd:6f,323 1ece:4f,309 1ecf:6f,309
        1ed0:4f,302,301 1ed1:6f,302,301 1ed2:4f,302,300 1ed3:6f,302,300 1ed4:4f,302,309 1ed5:6f,302,309
        1ed6:4f,302,303 1ed7:6f,302,303 1ed8:4f,323,302 1ed9:6f,323,302 1eda:4f,31b,301 1edb:6f,31b,301
        1edc:4f,31b,300 1edd:6f,31b,300 1ede:4f,31b,309 1edf:6f,31b,309 1ee0:4f,31b,303 1ee1:6f,31b,303
        1ee2:4f,31b,323 1ee3:6f,31b,323 1ee4:55,323 1ee5:75,323 1ee6:55,309 1ee7:75,309 1ee8:55,31b,301
        1ee9:75,31b,301 1eea:55,31b,300 1eeb:75,31b,300 1eec:55,31b,309 1eed:75,31b,309 1eee:55,31b,303
        1eef:75,31b,303 1ef0:55,31b,323 1ef1:75,31b,323 1ef2:59,300 1ef3:79,300 1ef4:59,323 1ef5:79,323
        1ef6:59,309 1ef7:79,309 1ef8:59,303 1ef9:79,303 1f00:3b1,313 1f01:3b1,314 1f02:3b1,313,300
        1f03:3b1,314,300 1f04:3b1,313,301 1f05:3b1,314,301 1f06:3b1,313,342 1f07:3b1,314,342
        1f08:391,313 1f09:391,314 1f0a:391,313,300 1f0b:391,314,300 1f0c:391,313,301 1f0d:391,314,301
        1f0e:391,313,342 1f0f:391,314,342 1f10:3b5,313 1f11:3b5,314 1f12:3b5,313,300 1f13:3b5,314,300
        1f14:3b5,313,301 1f15:3b5,314,301 1f18:395,313 1f19:395,314 1f1a:395,313,300 1f1b:395,314,300
        1f1c:395,313,301 1f1d:395,314,301 1f20:3b7,313 1f21:3b7,314 1f22:3b7,313,300 1f23:3b7,314,300
        1f24:3b7,313,301 1f25:3b7,314,301 1f26:3b7,313,342 1f27:3b7,314,342 1f28:397,313 1f29:397,314
        1f2a:397,313,300 1f2b:397,314,300 1f2c:397,313,301 1f2d:397,314,301 1f2e:397,313,342
        1f2f:397,314,342 1f30:3b9,313 1f31:3b9,314 1f32:3b9,313,300 1f33:3b9,314,300 1f34:3b9,313,301
        1f35:3b9,314,301 1f36:3b9,313,342 1f37:3b9,314,342 1f38:399,313 1f39:399,314 1f3a:399,313,300
        1f3b:399,314,300 1f3c:399,313,301 1f3d:399,314,301 1f3e:399,313,342 1f3f:399,314,342
        1f40:3bf,313 1f41:3bf,314 1f42:3bf,313,300 1f43:3bf,314,300 1f44:3bf,313,301 1f45:3bf,314,301
        1f48:39f,313 1f49:39f,314 1f4a:39f,313,300 1f4b:39f,314,300 1f4c:39f,313,301 1f4d:39f,314,301
        1f50:3c5,313 1f51:3c5,314 1f52:3c5,313,300 1f53:3c5,314,300 1f54:3c5,313,301 1f55:3c5,314,301
        1f56:3c5,313,342 1f57:3c5,314,342 1f59:3a5,314 1f5b:3a5,314,300 1f5d:3a5,314,301
        1f5f:3a5,314,342 1f60:3c9,313 1f61:3c9,314 1f62:3c9,313,300 1f63:3c9,314,300 1f64:3c9,313,301
        1f65:3c9,314,301 1f66:3c9,313,342 1f67:3c9,314,342 1f68:3a9,313 1f69:3a9,314 1f6a:3a9,313,300
        1f6b:3a9,314,300 1f6c:3a9,313,301 1f6d:3a9,314,301 1f6e:3a9,313,342 1f6f:3a9,314,342
        1f70:3b1,300 1f71:3b1,301 1f72:3b5,300 1f73:3b5,301 1f74:3b7,300 1f75:3b7,301 1f76:3b9,300
        1f77:3b9,301 1f78:3bf,300 1f79:3bf,301 1f7a:3c5,300 1f7b:3c5,301 1f7c:3c9,300 1f7d:3c9,301
        1f80:3b1,313,345 1f81:3b1,314,345 1f82:3b1,313,300,345 1f83:3b1,314,300,345 1f84:3b1,313,301,345
        1f85:3b1,314,301,345 1f86:3b1,313,342,345 1f87:3b1,314,342,345 1f88:391,313,345 1f89:391,314,345
        1f8a:391,313,300,345 1f8b:391,314,300,345 1f8c:391,313,301,345 1f8d:391,314,301,345
        1f8e:391,313,342,345 1f8f:391,314,342,345 1f90:3b7,313,345 1f91:3b7,314,345 1f92:3b7,313,300,345
        1f93:3b7,314,300,345 1f94:3b7,313,301,345 1f95:3b7,314,301,345 1f96:3b7,313,342,345
        1f97:3b7,314,342,345 1f98:397,313,345 1f99:397,314,345 1f9a:397,313,300,345 1f9b:397,314,300,345
        1f9c:397,313,301,345 1f9d:397,314,301,345 1f9e:397,313,342,345 1f9f:397,314,342,345
        1fa0:3c9,313,345 1fa1:3c9,314,345 1fa2:3c9,313,300,345 1fa3:3c9,314,300,345 1fa4:3c9,313,301,345
        1fa5:3c9,314,301,345 1fa6:3c9,313,342,345 1fa7:3c9,314,342,345 1fa8:3a9,313,345 1fa9:3a9,314,345
        1faa:3a9,313,300,345 1fab:3a9,314,300,345 1fac:3a9,313,301,345 1fad:3a9,314,301,345
        1fae:3a9,313,342,345 1faf:3a9,314,342,345 1fb0:3b1,306 1fb1:3b1,304 1fb2:3b1,300,345
        1fb3:3b1,345 1fb4:3b1,301,345 1fb6:3b1,342 1fb7:3b1,342,345 1fb8:391,306 1fb9:391,304
        1fba:391,300 1fbb:391,301 1fbc:391,345 1fbe:3b9 1fc1:a8,342 1fc2:3b7,300,345 1fc3:3b7,345
        1fc4:3b7,301,345 1fc6:3b7,342 1fc7:3b7,342,345 1fc8:395,300 1fc9:395,301 1fca:397,300
        1fcb:397,301 1fcc:397,345 1fcd:1fbf,300 1fce:1fbf,301 1fcf:1fbf,342 1fd0:3b9,306 1fd1:3b9,304
        1fd2:3b9,308,300 1fd3:3b9,308,301 1fd6:3b9,342 1fd7:3b9,308,342 1fd8:399,306 1fd9:399,304
        1fda:399,300 1fdb:399,301 1fdd:1ffe,300 1fde:1ffe,301 1fdf:1ffe,342 1fe0:3c5,306 1fe1:3c5,304
        1fe2:3c5,308,300 1fe3:3c5,308,301 1fe4:3c1,313 1fe5:3c1,314 1fe6:3c5,342 1fe7:3c5,308,342
        1fe8:3a5,306 1fe9:3a5,304 1fea:3a5,300 1feb:3a5,301 1fec:3a1,314 1fed:a8,300 1fee:a8,301 1fef:60
        1ff2:3c9,300,345 1ff3:3c9,345 1ff4:3c9,301,345 1ff6:3c9,342 1ff7:3c9,342,345 1ff8:39f,300
        1ff9:39f,301 1ffa:3a9,300 1ffb:3a9,301 1ffc:3a9,345 1ffd:b4 2000:2002 2001:2003 2126:3a9 212a:4b
        212b:41,30a 219a:2190,338 219b:2192,338 21ae:2194,338 21cd:21d0,338 21ce:21d4,338 21cf:21d2,338
        2204:2203,338 2209:2208,338 220c:220b,338 2224:2223,338 2226:2225,338 2241:223c,338
        2244:2243,338 2247:2245,338 2249:2248,338 2260:3d,338 2262:2261,338 226d:224d,338 226e:3c,338
        226f:3e,338 2270:2264,338 2271:2265,338 2274:2272,338 2275:2273,338 2278:2276,338 2279:2277,338
        2280:227a,338 2281:227b,338 2284:2282,338 2285:2283,338 2288:2286,338 2289:2287,338
        22ac:22a2,338 22ad:22a8,338 22ae:22a9,338 22af:22ab,338 22e0:227c,338 22e1:227d,338
        22e2:2291,338 22e3:2292,338 22ea:22b2,338 22eb:22b3,338 22ec:22b4,338 22ed:22b5,338 2329:3008
        232a:3009 2adc:2add,338 304c:304b,3099 304e:304d,3099 3050:304f,3099 3052:3051,3099
        3054:3053,3099 3056:3055,3099 3058:3057,3099 305a:3059,3099 305c:305b,3099 305e:305d,3099
        3060:305f,3099 3062:3061,3099 3065:3064,3099 3067:3066,3099 3069:3068,3099 3070:306f,3099
        3071:306f,309a 3073:3072,3099 3074:3072,309a 3076:3075,3099 3077:3075,309a 3079:3078,3099
        307a:3078,309a 307c:307b,3099 307d:307b,309a 3094:3046,3099 309e:309d,3099 30ac:30ab,3099
        30ae:30ad,3099 30b0:30af,3099 30b2:30b1,3099 30b4:30b3,3099 30b6:30b5,3099 30b8:30b7,3099
        30ba:30b9,3099 30bc:30bb,3099 30be:30bd,3099 30c0:30bf,3099 30c2:30c1,3099 30c5:30c4,3099
        30c7:30c6,3099 30c9:30c8,3099 30d0:30cf,3099 30d1:30cf,309a 30d3:30d2,3099 30d4:30d2,309a
        30d6:30d5,3099 30d7:30d5,309a 30d9:30d8,3099 30da:30d8,309a 30dc:30db,3099 30dd:30db,309a
        30f4:30a6,3099 30f7:30ef,3099 30f8:30f0,3099 30f9:30f1,3099 30fa:30f2,3099 30fe:30fd,3099
        f900:8c48 f901:66f4 f902:8eca f903:8cc8 f904:6ed1 f905:4e32 f906:53e5 f907:9f9c f908:9f9c
        f909:5951 f90a:91d1 f90b:5587 f90c:5948 f90d:61f6 f90e:7669 f90f:7f85 f910:863f f911:87ba
        f912:88f8 f913:908f f914:6a02 f915:6d1b f916:70d9 f917:73de f918:843d f919:916a f91a:99f1
        f91b:4e82 f91c:5375 f91d:6b04 f91e:721b f91f:862d f920:9e1e f921:5d50 f922:6feb f923:85cd
        f924:8964 f925:62c9 f926:81d8 f927:881f f928:5eca f929:6717 f92a:6d6a f92b:72fc f92c:90ce
        f92d:4f86 f92e:51b7 f92f:52de f930:64c4 f931:6ad3 f932:7210 f933:76e7 f934:8001 f935:8606
        f936:865c f937:8def f938:9732 f939:9b6f f93a:9dfa f93b:788c f93c:797f f93d:7da0 f93e:83c9
        f93f:9304 f940:9e7f f941:8ad6 f942:58df f943:5f04 f944:7c60 f945:807e f946:7262 f947:78ca
        f948:8cc2 f949:96f7 f94a:58d8 f94b:5c62 f94c:6a13 f94d:6dda f94e:6f0f f94f:7d2f f950:7e37
        f951:964b f952:52d2 f953:808b f954:51dc f955:51cc f956:7a1c f957:7dbe f958:83f1 f959:9675
        f95a:8b80 f95b:62cf f95c:6a02 f95d:8afe f95e:4e39 f95f:5be7 f960:6012 f961:7387 f962:7570
        f963:5317 f964:78fb f965:4fbf f966:5fa9 f967:4e0d f968:6ccc f969:6578 f96a:7d22 f96b:53c3
        f96c:585e f96d:7701 f96e:8449 f96f:8aaa f970:6bba f971:8fb0 f972:6c88 f973:62fe f974:82e5
        f975:63a0 f976:7565 f977:4eae f978:5169 f979:51c9 f97a:6881 f97b:7ce7 f97c:826f f97d:8ad2
        f97e:91cf f97f:52f5 f980:5442 f981:5973 f982:5eec f983:65c5 f984:6ffe f985:792a f986:95ad
        f987:9a6a f988:9e97 f989:9ece f98a:529b f98b:66c6 f98c:6b77 f98d:8f62 f98e:5e74 f98f:6190
        f990:6200 f991:649a f992:6f23 f993:7149 f994:7489 f995:79ca f996:7df4 f997:806f f998:8f26
        f999:84ee f99a:9023 f99b:934a f99c:5217 f99d:52a3 f99e:54bd f99f:70c8 f9a0:88c2 f9a1:8aaa
        f9a2:5ec9 f9a3:5ff5 f9a4:637b f9a5:6bae f9a6:7c3e f9a7:7375 f9a8:4ee4 f9a9:56f9 f9aa:5be7
        f9ab:5dba f9ac:601c f9ad:73b2 f9ae:7469 f9af:7f9a f9b0:8046 f9b1:9234 f9b2:96f6 f9b3:9748
        f9b4:9818 f9b5:4f8b f9b6:79ae f9b7:91b4 f9b8:96b8 f9b9:60e1 f9ba:4e86 f9bb:50da f9bc:5bee
        f9bd:5c3f f9be:6599 f9bf:6a02 f9c0:71ce f9c1:7642 f9c2:84fc f9c3:907c f9c4:9f8d f9c5:6688
        f9c6:962e f9c7:5289 f9c8:677b f9c9:67f3 f9ca:6d41 f9cb:6e9c f9cc:7409 f9cd:7559 f9ce:786b
        f9cf:7d10 f9d0:985e f9d1:516d f9d2:622e f9d3:9678 f9d4:502b f9d5:5d19 f9d6:6dea f9d7:8f2a
        f9d8:5f8b f9d9:6144 f9da:6817 f9db:7387 f9dc:9686 f9dd:5229 f9de:540f f9df:5c65 f9e0:6613
        f9e1:674e f9e2:68a8 f9e3:6ce5 f9e4:7406 f9e5:75e2 f9e6:7f79 f9e7:88cf f9e8:88e1 f9e9:91cc
        f9ea:96e2 f9eb:533f f9ec:6eba f9ed:541d f9ee:71d0 f9ef:7498 f9f0:85fa f9f1:96a3 f9f2:9c57
        f9f3:9e9f f9f4:6797 f9f5:6dcb f9f6:81e8 f9f7:7acb f9f8:7b20 f9f9:7c92 f9fa:72c0 f9fb:7099
        f9fc:8b58 f9fd:4ec0 f9fe:8336 f9ff:523a fa00:5207 fa01:5ea6 fa02:62d3 fa03:7cd6 fa04:5b85
        fa05:6d1e fa06:66b4 fa07:8f3b fa08:884c fa09:964d fa0a:898b fa0b:5ed3 fa0c:5140 fa0d:55c0
        fa10:585a fa12:6674 fa15:51de fa16:732a fa17:76ca fa18:793c fa19:795e fa1a:7965 fa1b:798f
        fa1c:9756 fa1d:7cbe fa1e:7fbd fa20:8612 fa22:8af8 fa25:9038 fa26:90fd fa2a:98ef fa2b:98fc
        fa2c:9928 fa2d:9db4 fa2e:90de fa2f:96b7 fa30:4fae fa31:50e7 fa32:514d fa33:52c9 fa34:52e4
        fa35:5351 fa36:559d fa37:5606 fa38:5668 fa39:5840 fa3a:58a8 fa3b:5c64 fa3c:5c6e fa3d:6094
        fa3e:6168 fa3f:618e fa40:61f2 fa41:654f fa42:65e2 fa43:6691 fa44:6885 fa45:6d77 fa46:6e1a
        fa47:6f22 fa48:716e fa49:722b fa4a:7422 fa4b:7891 fa4c:793e fa4d:7949 fa4e:7948 fa4f:7950
        fa50:7956 fa51:795d fa52:798d fa53:798e fa54:7a40 fa55:7a81 fa56:7bc0 fa57:7df4 fa58:7e09
        fa59:7e41 fa5a:7f72 fa5b:8005 fa5c:81ed fa5d:8279 fa5e:8279 fa5f:8457 fa60:8910 fa61:8996
        fa62:8b01 fa63:8b39 fa64:8cd3 fa65:8d08 fa66:8fb6 fa67:9038 fa68:96e3 fa69:97ff fa6a:983b
        fa6b:6075 fa6c:242ee fa6d:8218 fa70:4e26 fa71:51b5 fa72:5168 fa73:4f80 fa74:5145 fa75:5180
        fa76:52c7 fa77:52fa fa78:559d fa79:5555 fa7a:5599 fa7b:55e2 fa7c:585a fa7d:58b3 fa7e:5944
        fa7f:5954 fa80:5a62 fa81:5b28 fa82:5ed2 fa83:5ed9 fa84:5f69 fa85:5fad fa86:60d8 fa87:614e
        fa88:6108 fa89:618e fa8a:6160 fa8b:61f2 fa8c:6234 fa8d:63c4 fa8e:641c fa8f:6452 fa90:6556
        fa91:6674 fa92:6717 fa93:671b fa94:6756 fa95:6b79 fa96:6bba fa97:6d41 fa98:6edb fa99:6ecb
        fa9a:6f22 fa9b:701e fa9c:716e fa9d:77a7 fa9e:7235 fa9f:72af faa0:732a faa1:7471 faa2:7506
        faa3:753b faa4:761d faa5:761f faa6:76ca faa7:76db faa8:76f4 faa9:774a faaa:7740 faab:78cc
        faac:7ab1 faad:7bc0 faae:7c7b faaf:7d5b fab0:7df4 fab1:7f3e fab2:8005 fab3:8352 fab4:83ef
        fab5:8779 fab6:8941 fab7:8986 fab8:8996 fab9:8abf faba:8af8 fabb:8acb fabc:8b01 fabd:8afe
        fabe:8aed fabf:8b39 fac0:8b8a fac1:8d08 fac2:8f38 fac3:9072 fac4:9199 fac5:9276 fac6:967c
        fac7:96e3 fac8:9756 fac9:97db faca:97ff facb:980b facc:983b facd:9b12 face:9f9c facf:2284a
        fad0:22844 fad1:233d5 fad2:3b9d fad3:4018 fad4:4039 fad5:25249 fad6:25cd0 fad7:27ed3 fad8:9f43
        fad9:9f8e fb1d:5d9,5b4 fb1f:5f2,5b7 fb2a:5e9,5c1 fb2b:5e9,5c2 fb2c:5e9,5bc,5c1 fb2d:5e9,5bc,5c2
        fb2e:5d0,5b7 fb2f:5d0,5b8 fb30:5d0,5bc fb31:5d1,5bc fb32:5d2,5bc fb33:5d3,5bc fb34:5d4,5bc
        fb35:5d5,5bc fb36:5d6,5bc fb38:5d8,5bc fb39:5d9,5bc fb3a:5da,5bc fb3b:5db,5bc fb3c:5dc,5bc
        fb3e:5de,5bc fb40:5e0,5bc fb41:5e1,5bc fb43:5e3,5bc fb44:5e4,5bc fb46:5e6,5bc fb47:5e7,5bc
        fb48:5e8,5bc fb49:5e9,5bc fb4a:5ea,5bc fb4b:5d5,5b9 fb4c:5d1,5bf fb4d:5db,5bf fb4e:5e4,5bf
        1109a:11099,110ba 1109c:1109b,110ba 110ab:110a5,110ba 1112e:11131,11127 1112f:11132,11127
        1134b:11347,1133e 1134c:11347,11357 114bb:114b9,114ba 114bc:114b9,114b0 114be:114b9,114bd
        115ba:115b8,115af 115bb:115b9,115af 1d15e:1d157,1d165 1d15f:1d158,1d165 1d160:1d158,1d165,1d16e
        1d161:1d158,1d165,1d16f 1d162:1d158,1d165,1d170 1d163:1d158,1d165,1d171 1d164:1d158,1d165,1d172
        1d1bb:1d1b9,1d165 1d1bc:1d1ba,1d165 1d1bd:1d1b9,1d165,1d16e 1d1be:1d1ba,1d165,1d16e
        1d1bf:1d1b9,1d165,1d16f 1d1c0:1d1ba,1d165,1d16f 2f800:4e3d 2f801:4e38 2f802:4e41 2f803:20122
        2f804:4f60 2f805:4fae 2f806:4fbb 2f807:5002 2f808:507a 2f809:5099 2f80a:50e7 2f80b:50cf
        2f80c:349e 2f80d:2063a 2f80e:514d 2f80f:5154 2f810:5164 2f811:5177 2f812:2051c 2f813:34b9
        2f814:5167 2f815:518d 2f816:2054b 2f817:5197 2f818:51a4 2f819:4ecc 2f81a:51ac 2f81b:51b5
        2f81c:291df 2f81d:51f5 2f81e:5203 2f81f:34df 2f820:523b 2f821:5246 2f822:5272 2f823:5277
        2f824:3515 2f825:52c7 2f826:52c9 2f827:52e4 2f828:52fa 2f829:5305 2f82a:5306 2f82b:5317
        2f82c:5349 2f82d:5351 2f82e:535a 2f82f:5373 2f830:537d 2f831:537f 2f832:537f 2f833:537f
        2f834:20a2c 2f835:7070 2f836:53ca 2f837:53df 2f838:20b63 2f839:53eb 2f83a:53f1 2f83b:5406
        2f83c:549e 2f83d:5438 2f83e:5448 2f83f:5468 2f840:54a2 2f841:54f6 2f842:5510 2f843:5553
        2f844:5563 2f845:5584 2f846:5584 2f847:5599 2f848:55ab 2f849:55b3 2f84a:55c2 2f84b:5716
        2f84c:5606 2f84d:5717 2f84e:5651 2f84f:5674 2f850:5207 2f851:58ee 2f852:57ce 2f853:57f4
        2f854:580d 2f855:578b 2f856:5832 2f857:5831 2f858:58ac 2f859:214e4 2f85a:58f2 2f85b:58f7
        2f85c:5906 2f85d:591a 2f85e:5922 2f85f:5962 2f860:216a8 2f861:216ea 2f862:59ec 2f863:5a1b
        2f864:5a27 2f865:59d8 2f866:5a66 2f867:36ee 2f868:36fc 2f869:5b08 2f86a:5b3e 2f86b:5b3e
        2f86c:219c8 2f86d:5bc3 2f86e:5bd8 2f86f:5be7 2f870:5bf3 2f871:21b18 2f872:5bff 2f873:5c06
        2f874:5f53 2f875:5c22 2f876:3781 2f877:5c60 2f878:5c6e 2f879:5cc0 2f87a:5c8d 2f87b:21de4
        2f87c:5d43 2f87d:21de6 2f87e:5d6e 2f87f:5d6b 2f880:5d7c 2f881:5de1 2f882:5de2 2f883:382f
        2f884:5dfd 2f885:5e28 2f886:5e3d 2f887:5e69 2f888:3862 2f889:22183 2f88a:387c 2f88b:5eb0
        2f88c:5eb3 2f88d:5eb6 2f88e:5eca 2f88f:2a392 2f890:5efe 2f891:22331 2f892:22331 2f893:8201
        2f894:5f22 2f895:5f22 2f896:38c7 2f897:232b8 2f898:261da 2f899:5f62 2f89a:5f6b 2f89b:38e3
        2f89c:5f9a 2f89d:5fcd 2f89e:5fd7 2f89f:5ff9 2f8a0:6081 2f8a1:393a 2f8a2:391c 2f8a3:6094
        2f8a4:226d4 2f8a5:60c7 2f8a6:6148 2f8a7:614c 2f8a8:614e 2f8a9:614c 2f8aa:617a 2f8ab:618e
        2f8ac:61b2 2f8ad:61a4 2f8ae:61af 2f8af:61de 2f8b0:61f2 2f8b1:61f6 2f8b2:6210 2f8b3:621b
        2f8b4:625d 2f8b5:62b1 2f8b6:62d4 2f8b7:6350 2f8b8:22b0c 2f8b9:633d 2f8ba:62fc 2f8bb:6368
        2f8bc:6383 2f8bd:63e4 2f8be:22bf1 2f8bf:6422 2f8c0:63c5 2f8c1:63a9 2f8c2:3a2e 2f8c3:6469
        2f8c4:647e 2f8c5:649d 2f8c6:6477 2f8c7:3a6c 2f8c8:654f 2f8c9:656c 2f8ca:2300a 2f8cb:65e3
        2f8cc:66f8 2f8cd:6649 2f8ce:3b19 2f8cf:6691 2f8d0:3b08 2f8d1:3ae4 2f8d2:5192 2f8d3:5195
        2f8d4:6700 2f8d5:669c 2f8d6:80ad 2f8d7:43d9 2f8d8:6717 2f8d9:671b 2f8da:6721 2f8db:675e
        2f8dc:6753 2f8dd:233c3 2f8de:3b49 2f8df:67fa 2f8e0:6785 2f8e1:6852 2f8e2:6885 2f8e3:2346d
        2f8e4:688e 2f8e5:681f 2f8e6:6914 2f8e7:3b9d 2f8e8:6942 2f8e9:69a3 2f8ea:69ea 2f8eb:6aa8
        2f8ec:236a3 2f8ed:6adb 2f8ee:3c18 2f8ef:6b21 2f8f0:238a7 2f8f1:6b54 2f8f2:3c4e 2f8f3:6b72
        2f8f4:6b9f 2f8f5:6bba 2f8f6:6bbb 2f8f7:23a8d 2f8f8:21d0b 2f8f9:23afa 2f8fa:6c4e 2f8fb:23cbc
        2f8fc:6cbf 2f8fd:6ccd 2f8fe:6c67 2f8ff:6d16 2f900:6d3e 2f901:6d77 2f902:6d41 2f903:6d69
        2f904:6d78 2f905:6d85 2f906:23d1e 2f907:6d34 2f908:6e2f 2f909:6e6e 2f90a:3d33 2f90b:6ecb
        2f90c:6ec7 2f90d:23ed1 2f90e:6df9 2f90f:6f6e 2f910:23f5e 2f911:23f8e 2f912:6fc6 2f913:7039
        2f914:701e 2f915:701b 2f916:3d96 2f917:704a 2f918:707d 2f919:7077 2f91a:70ad 2f91b:20525
        2f91c:7145 2f91d:24263 2f91e:719c 2f91f:243ab 2f920:7228 2f921:7235 2f922:7250 2f923:24608
        2f924:7280 2f925:7295 2f926:24735 2f927:24814 2f928:737a 2f929:738b 2f92a:3eac 2f92b:73a5
        2f92c:3eb8 2f92d:3eb8 2f92e:7447 2f92f:745c 2f930:7471 2f931:7485 2f932:74ca 2f933:3f1b
        2f934:7524 2f935:24c36 2f936:753e 2f937:24c92 2f938:7570 2f939:2219f 2f93a:7610 2f93b:24fa1
        2f93c:24fb8 2f93d:25044 2f93e:3ffc 2f93f:4008 2f940:76f4 2f941:250f3 2f942:250f2 2f943:25119
        2f944:25133 2f945:771e 2f946:771f 2f947:771f 2f948:774a 2f949:4039 2f94a:778b 2f94b:4046
        2f94c:4096 2f94d:2541d 2f94e:784e 2f94f:788c 2f950:78cc 2f951:40e3 2f952:25626 2f953:7956
        2f954:2569a 2f955:256c5 2f956:798f 2f957:79eb 2f958:412f 2f959:7a40 2f95a:7a4a 2f95b:7a4f
        2f95c:2597c 2f95d:25aa7 2f95e:25aa7 2f95f:7aee 2f960:4202 2f961:25bab 2f962:7bc6 2f963:7bc9
        2f964:4227 2f965:25c80 2f966:7cd2 2f967:42a0 2f968:7ce8 2f969:7ce3 2f96a:7d00 2f96b:25f86
        2f96c:7d63 2f96d:4301 2f96e:7dc7 2f96f:7e02 2f970:7e45 2f971:4334 2f972:26228 2f973:26247
        2f974:4359 2f975:262d9 2f976:7f7a 2f977:2633e 2f978:7f95 2f979:7ffa 2f97a:8005 2f97b:264da
        2f97c:26523 2f97d:8060 2f97e:265a8 2f97f:8070 2f980:2335f 2f981:43d5 2f982:80b2 2f983:8103
        2f984:440b 2f985:813e 2f986:5ab5 2f987:267a7 2f988:267b5 2f989:23393 2f98a:2339c 2f98b:8201
        2f98c:8204 2f98d:8f9e 2f98e:446b 2f98f:8291 2f990:828b 2f991:829d 2f992:52b3 2f993:82b1
        2f994:82b3 2f995:82bd 2f996:82e6 2f997:26b3c 2f998:82e5 2f999:831d 2f99a:8363 2f99b:83ad
        2f99c:8323 2f99d:83bd 2f99e:83e7 2f99f:8457 2f9a0:8353 2f9a1:83ca 2f9a2:83cc 2f9a3:83dc
        2f9a4:26c36 2f9a5:26d6b 2f9a6:26cd5 2f9a7:452b 2f9a8:84f1 2f9a9:84f3 2f9aa:8516 2f9ab:273ca
        2f9ac:8564 2f9ad:26f2c 2f9ae:455d 2f9af:4561 2f9b0:26fb1 2f9b1:270d2 2f9b2:456b 2f9b3:8650
        2f9b4:865c 2f9b5:8667 2f9b6:8669 2f9b7:86a9 2f9b8:8688 2f9b9:870e 2f9ba:86e2 2f9bb:8779
        2f9bc:8728 2f9bd:876b 2f9be:8786 2f9bf:45d7 2f9c0:87e1 2f9c1:8801 2f9c2:45f9 2f9c3:8860
        2f9c4:8863 2f9c5:27667 2f9c6:88d7 2f9c7:88de 2f9c8:4635 2f9c9:88fa 2f9ca:34bb 2f9cb:278ae
        2f9cc:27966 2f9cd:46be 2f9ce:46c7 2f9cf:8aa0 2f9d0:8aed 2f9d1:8b8a 2f9d2:8c55 2f9d3:27ca8
        2f9d4:8cab 2f9d5:8cc1 2f9d6:8d1b 2f9d7:8d77 2f9d8:27f2f 2f9d9:20804 2f9da:8dcb 2f9db:8dbc
        2f9dc:8df0 2f9dd:208de 2f9de:8ed4 2f9df:8f38 2f9e0:285d2 2f9e1:285ed 2f9e2:9094 2f9e3:90f1
        2f9e4:9111 2f9e5:2872e 2f9e6:911b 2f9e7:9238 2f9e8:92d7 2f9e9:92d8 2f9ea:927c 2f9eb:93f9
        2f9ec:9415 2f9ed:28bfa 2f9ee:958b 2f9ef:4995 2f9f0:95b7 2f9f1:28d77 2f9f2:49e6 2f9f3:96c3
        2f9f4:5db2 2f9f5:9723 2f9f6:29145 2f9f7:2921a 2f9f8:4a6e 2f9f9:4a76 2f9fa:97e0 2f9fb:2940a
        2f9fc:4ab2 2f9fd:29496 2f9fe:980b 2f9ff:980b 2fa00:9829 2fa01:295b6 2fa02:98e2 2fa03:4b33
        2fa04:9929 2fa05:99a7 2fa06:99c2 2fa07:99fe 2fa08:4bce 2fa09:29b30 2fa0a:9b12 2fa0b:9c40
        2fa0c:9cfd 2fa0d:4cce 2fa0e:4ced 2fa0f:9d67 2fa10:2a0ce 2fa11:4cf8 2fa12:2a105 2fa13:2a20e
        2fa14:2a291 2fa15:9ebb 2fa16:4d56 2fa17:9ef9 2fa18:9efe 2fa19:9f05 2fa1a:9f0f 2fa1b:9f16
        2fa1c:9f3b 2fa1d:2a600
        """
    /// char::to_lowercase where it is not the identity
    static let lowercase = """
        41:61 42:62 43:63 44:64 45:65 46:66 47:67 48:68 49:69 4a:6a 4b:6b 4c:6c 4d:6d 4e:6e 4f:6f 50:70
        51:71 52:72 53:73 54:74 55:75 56:76 57:77 58:78 59:79 5a:7a c0:e0 c1:e1 c2:e2 c3:e3 c4:e4 c5:e5
        c6:e6 c7:e7 c8:e8 c9:e9 ca:ea cb:eb cc:ec cd:ed ce:ee cf:ef d0:f0 d1:f1 d2:f2 d3:f3 d4:f4 d5:f5
        d6:f6 d8:f8 d9:f9 da:fa db:fb dc:fc dd:fd de:fe 100:101 102:103 104:105 106:107 108:109 10a:10b
        10c:10d 10e:10f 110:111 112:113 114:115 116:117 118:119 11a:11b 11c:11d 11e:11f 120:121 122:123
        124:125 126:127 128:129 12a:12b 12c:12d 12e:12f 130:69,307 132:133 134:135 136:137 139:13a
        13b:13c 13d:13e 13f:140 141:142 143:144 145:146 147:148 14a:14b 14c:14d 14e:14f 150:151 152:153
        154:155 156:157 158:159 15a:15b 15c:15d 15e:15f 160:161 162:163 164:165 166:167 168:169 16a:16b
        16c:16d 16e:16f 170:171 172:173 174:175 176:177 178:ff 179:17a 17b:17c 17d:17e 181:253 182:183
        184:185 186:254 187:188 189:256 18a:257 18b:18c 18e:1dd 18f:259 190:25b 191:192 193:260 194:263
        196:269 197:268 198:199 19c:26f 19d:272 19f:275 1a0:1a1 1a2:1a3 1a4:1a5 1a6:280 1a7:1a8 1a9:283
        1ac:1ad 1ae:288 1af:1b0 1b1:28a 1b2:28b 1b3:1b4 1b5:1b6 1b7:292 1b8:1b9 1bc:1bd 1c4:1c6 1c5:1c6
        1c7:1c9 1c8:1c9 1ca:1cc 1cb:1cc 1cd:1ce 1cf:1d0 1d1:1d2 1d3:1d4 1d5:1d6 1d7:1d8 1d9:1da 1db:1dc
        1de:1df 1e0:1e1 1e2:1e3 1e4:1e5 1e6:1e7 1e8:1e9 1ea:1eb 1ec:1ed 1ee:1ef 1f1:1f3 1f2:1f3 1f4:1f5
        1f6:195 1f7:1bf 1f8:1f9 1fa:1fb 1fc:1fd 1fe:1ff 200:201 202:203 204:205 206:207 208:209 20a:20b
        20c:20d 20e:20f 210:211 212:213 214:215 216:217 218:219 21a:21b 21c:21d 21e:21f 220:19e 222:223
        224:225 226:227 228:229 22a:22b 22c:22d 22e:22f 230:231 232:233 23a:2c65 23b:23c 23d:19a
        23e:2c66 241:242 243:180 244:289 245:28c 246:247 248:249 24a:24b 24c:24d 24e:24f 370:371 372:373
        376:377 37f:3f3 386:3ac 388:3ad 389:3ae 38a:3af 38c:3cc 38e:3cd 38f:3ce 391:3b1 392:3b2 393:3b3
        394:3b4 395:3b5 396:3b6 397:3b7 398:3b8 399:3b9 39a:3ba 39b:3bb 39c:3bc 39d:3bd 39e:3be 39f:3bf
        3a0:3c0 3a1:3c1 3a3:3c3 3a4:3c4 3a5:3c5 3a6:3c6 3a7:3c7 3a8:3c8 3a9:3c9 3aa:3ca 3ab:3cb 3cf:3d7
        3d8:3d9 3da:3db 3dc:3dd 3de:3df 3e0:3e1 3e2:3e3 3e4:3e5 3e6:3e7 3e8:3e9 3ea:3eb 3ec:3ed 3ee:3ef
        3f4:3b8 3f7:3f8 3f9:3f2 3fa:3fb 3fd:37b 3fe:37c 3ff:37d 400:450 401:451 402:452 403:453 404:454
        405:455 406:456 407:457 408:458 409:459 40a:45a 40b:45b 40c:45c 40d:45d 40e:45e 40f:45f 410:430
        411:431 412:432 413:433 414:434 415:435 416:436 417:437 418:438 419:439 41a:43a 41b:43b 41c:43c
        41d:43d 41e:43e 41f:43f 420:440 421:441 422:442 423:443 424:444 425:445 426:446 427:447 428:448
        429:449 42a:44a 42b:44b 42c:44c 42d:44d 42e:44e 42f:44f 460:461 462:463 464:465 466:467 468:469
        46a:46b 46c:46d 46e:46f 470:471 472:473 474:475 476:477 478:479 47a:47b 47c:47d 47e:47f 480:481
        48a:48b 48c:48d 48e:48f 490:491 492:493 494:495 496:497 498:499 49a:49b 49c:49d 49e:49f 4a0:4a1
        4a2:4a3 4a4:4a5 4a6:4a7 4a8:4a9 4aa:4ab 4ac:4ad 4ae:4af 4b0:4b1 4b2:4b3 4b4:4b5 4b6:4b7 4b8:4b9
        4ba:4bb 4bc:4bd 4be:4bf 4c0:4cf 4c1:4c2 4c3:4c4 4c5:4c6 4c7:4c8 4c9:4ca 4cb:4cc 4cd:4ce 4d0:4d1
        4d2:4d3 4d4:4d5 4d6:4d7 4d8:4d9 4da:4db 4dc:4dd 4de:4df 4e0:4e1 4e2:4e3 4e4:4e5 4e6:4e7 4e8:4e9
        4ea:4eb 4ec:4ed 4ee:4ef 4f0:4f1 4f2:4f3 4f4:4f5 4f6:4f7 4f8:4f9 4fa:4fb 4fc:4fd 4fe:4ff 500:501
        502:503 504:505 506:507 508:509 50a:50b 50c:50d 50e:50f 510:511 512:513 514:515 516:517 518:519
        51a:51b 51c:51d 51e:51f 520:521 522:523 524:525 526:527 528:529 52a:52b 52c:52d 52e:52f 531:561
        532:562 533:563 534:564 535:565 536:566 537:567 538:568 539:569 53a:56a 53b:56b 53c:56c 53d:56d
        53e:56e 53f:56f 540:570 541:571 542:572 543:573 544:574 545:575 546:576 547:577 548:578 549:579
        54a:57a 54b:57b 54c:57c 54d:57d 54e:57e 54f:57f 550:580 551:581 552:582 553:583 554:584 555:585
        556:586 10a0:2d00 10a1:2d01 10a2:2d02 10a3:2d03 10a4:2d04 10a5:2d05 10a6:2d06 10a7:2d07
        10a8:2d08 10a9:2d09 10aa:2d0a 10ab:2d0b 10ac:2d0c 10ad:2d0d 10ae:2d0e 10af:2d0f 10b0:2d10
        10b1:2d11 10b2:2d12 10b3:2d13 10b4:2d14 10b5:2d15 10b6:2d16 10b7:2d17 10b8:2d18 10b9:2d19
        10ba:2d1a 10bb:2d1b 10bc:2d1c 10bd:2d1d 10be:2d1e 10bf:2d1f 10c0:2d20 10c1:2d21 10c2:2d22
        10c3:2d23 10c4:2d24 10c5:2d25 10c7:2d27 10cd:2d2d 13a0:ab70 13a1:ab71 13a2:ab72 13a3:ab73
        13a4:ab74 13a5:ab75 13a6:ab76 13a7:ab77 13a8:ab78 13a9:ab79 13aa:ab7a 13ab:ab7b 13ac:ab7c
        13ad:ab7d 13ae:ab7e 13af:ab7f 13b0:ab80 13b1:ab81 13b2:ab82 13b3:ab83 13b4:ab84 13b5:ab85
        13b6:ab86 13b7:ab87 13b8:ab88 13b9:ab89 13ba:ab8a 13bb:ab8b 13bc:ab8c 13bd:ab8d 13be:ab8e
        13bf:ab8f 13c0:ab90 13c1:ab91 13c2:ab92 13c3:ab93 13c4:ab94 13c5:ab95 13c6:ab96 13c7:ab97
        13c8:ab98 13c9:ab99 13ca:ab9a 13cb:ab9b 13cc:ab9c 13cd:ab9d 13ce:ab9e 13cf:ab9f 13d0:aba0
        13d1:aba1 13d2:aba2 13d3:aba3 13d4:aba4 13d5:aba5 13d6:aba6 13d7:aba7 13d8:aba8 13d9:aba9
        13da:abaa 13db:abab 13dc:abac 13dd:abad 13de:abae 13df:abaf 13e0:abb0 13e1:abb1 13e2:abb2
        13e3:abb3 13e4:abb4 13e5:abb5 13e6:abb6 13e7:abb7 13e8:abb8 13e9:abb9 13ea:abba 13eb:abbb
        13ec:abbc 13ed:abbd 13ee:abbe 13ef:abbf 13f0:13f8 13f1:13f9 13f2:13fa 13f3:13fb 13f4:13fc
        13f5:13fd 1c89:1c8a 1c90:10d0 1c91:10d1 1c92:10d2 1c93:10d3 1c94:10d4 1c95:10d5 1c96:10d6
        1c97:10d7 1c98:10d8 1c99:10d9 1c9a:10da 1c9b:10db 1c9c:10dc 1c9d:10dd 1c9e:10de 1c9f:10df
        1ca0:10e0 1ca1:10e1 1ca2:10e2 1ca3:10e3 1ca4:10e4 1ca5:10e5 1ca6:10e6 1ca7:10e7 1ca8:10e8
        1ca9:10e9 1caa:10ea 1cab:10eb 1cac:10ec 1cad:10ed 1cae:10ee 1caf:10ef 1cb0:10f0 1cb1:10f1
        1cb2:10f2 1cb3:10f3 1cb4:10f4 1cb5:10f5 1cb6:10f6 1cb7:10f7 1cb8:10f8 1cb9:10f9 1cba:10fa
        1cbd:10fd 1cbe:10fe 1cbf:10ff 1e00:1e01 1e02:1e03 1e04:1e05 1e06:1e07 1e08:1e09 1e0a:1e0b
        1e0c:1e0d 1e0e:1e0f 1e10:1e11 1e12:1e13 1e14:1e15 1e16:1e17 1e18:1e19 1e1a:1e1b 1e1c:1e1d
        1e1e:1e1f 1e20:1e21 1e22:1e23 1e24:1e25 1e26:1e27 1e28:1e29 1e2a:1e2b 1e2c:1e2d 1e2e:1e2f
        1e30:1e31 1e32:1e33 1e34:1e35 1e36:1e37 1e38:1e39 1e3a:1e3b 1e3c:1e3d 1e3e:1e3f 1e40:1e41
        1e42:1e43 1e44:1e45 1e46:1e47 1e48:1e49 1e4a:1e4b 1e4c:1e4d 1e4e:1e4f 1e50:1e51 1e52:1e53
        1e54:1e55 1e56:1e57 1e58:1e59 1e5a:1e5b 1e5c:1e5d 1e5e:1e5f 1e60:1e61 1e62:1e63 1e64:1e65
        1e66:1e67 1e68:1e69 1e6a:1e6b 1e6c:1e6d 1e6e:1e6f 1e70:1e71 1e72:1e73 1e74:1e75 1e76:1e77
        1e78:1e79 1e7a:1e7b 1e7c:1e7d 1e7e:1e7f 1e80:1e81 1e82:1e83 1e84:1e85 1e86:1e87 1e88:1e89
        1e8a:1e8b 1e8c:1e8d 1e8e:1e8f 1e90:1e91 1e92:1e93 1e94:1e95 1e9e:df 1ea0:1ea1 1ea2:1ea3
        1ea4:1ea5 1ea6:1ea7 1ea8:1ea9 1eaa:1eab 1eac:1ead 1eae:1eaf 1eb0:1eb1 1eb2:1eb3 1eb4:1eb5
        1eb6:1eb7 1eb8:1eb9 1eba:1ebb 1ebc:1ebd 1ebe:1ebf 1ec0:1ec1 1ec2:1ec3 1ec4:1ec5 1ec6:1ec7
        1ec8:1ec9 1eca:1ecb 1ecc:1ecd 1ece:1ecf 1ed0:1ed1 1ed2:1ed3 1ed4:1ed5 1ed6:1ed7 1ed8:1ed9
        1eda:1edb 1edc:1edd 1ede:1edf 1ee0:1ee1 1ee2:1ee3 1ee4:1ee5 1ee6:1ee7 1ee8:1ee9 1eea:1eeb
        1eec:1eed 1eee:1eef 1ef0:1ef1 1ef2:1ef3 1ef4:1ef5 1ef6:1ef7 1ef8:1ef9 1efa:1efb 1efc:1efd
        1efe:1eff 1f08:1f00 1f09:1f01 1f0a:1f02 1f0b:1f03 1f0c:1f04 1f0d:1f05 1f0e:1f06 1f0f:1f07
        1f18:1f10 1f19:1f11 1f1a:1f12 1f1b:1f13 1f1c:1f14 1f1d:1f15 1f28:1f20 1f29:1f21 1f2a:1f22
        1f2b:1f23 1f2c:1f24 1f2d:1f25 1f2e:1f26 1f2f:1f27 1f38:1f30 1f39:1f31 1f3a:1f32 1f3b:1f33
        1f3c:1f34 1f3d:1f35 1f3e:1f36 1f3f:1f37 1f48:1f40 1f49:1f41 1f4a:1f42 1f4b:1f43 1f4c:1f44
        1f4d:1f45 1f59:1f51 1f5b:1f53 1f5d:1f55 1f5f:1f57 1f68:1f60 1f69:1f61 1f6a:1f62 1f6b:1f63
        1f6c:1f64 1f6d:1f65 1f6e:1f66 1f6f:1f67 1f88:1f80 1f89:1f81 1f8a:1f82 1f8b:1f83 1f8c:1f84
        1f8d:1f85 1f8e:1f86 1f8f:1f87 1f98:1f90 1f99:1f91 1f9a:1f92 1f9b:1f93 1f9c:1f94 1f9d:1f95
        1f9e:1f96 1f9f:1f97 1fa8:1fa0 1fa9:1fa1 1faa:1fa2 1fab:1fa3 1fac:1fa4 1fad:1fa5 1fae:1fa6
        1faf:1fa7 1fb8:1fb0 1fb9:1fb1 1fba:1f70 1fbb:1f71 1fbc:1fb3 1fc8:1f72 1fc9:1f73 1fca:1f74
        1fcb:1f75 1fcc:1fc3 1fd8:1fd0 1fd9:1fd1 1fda:1f76 1fdb:1f77 1fe8:1fe0 1fe9:1fe1 1fea:1f7a
        1feb:1f7b 1fec:1fe5 1ff8:1f78 1ff9:1f79 1ffa:1f7c 1ffb:1f7d 1ffc:1ff3 2126:3c9 212a:6b 212b:e5
        2132:214e 2160:2170 2161:2171 2162:2172 2163:2173 2164:2174 2165:2175 2166:2176 2167:2177
        2168:2178 2169:2179 216a:217a 216b:217b 216c:217c 216d:217d 216e:217e 216f:217f 2183:2184
        24b6:24d0 24b7:24d1 24b8:24d2 24b9:24d3 24ba:24d4 24bb:24d5 24bc:24d6 24bd:24d7 24be:24d8
        24bf:24d9 24c0:24da 24c1:24db 24c2:24dc 24c3:24dd 24c4:24de 24c5:24df 24c6:24e0 24c7:24e1
        24c8:24e2 24c9:24e3 24ca:24e4 24cb:24e5 24cc:24e6 24cd:24e7 24ce:24e8 24cf:24e9 2c00:2c30
        2c01:2c31 2c02:2c32 2c03:2c33 2c04:2c34 2c05:2c35 2c06:2c36 2c07:2c37 2c08:2c38 2c09:2c39
        2c0a:2c3a 2c0b:2c3b 2c0c:2c3c 2c0d:2c3d 2c0e:2c3e 2c0f:2c3f 2c10:2c40 2c11:2c41 2c12:2c42
        2c13:2c43 2c14:2c44 2c15:2c45 2c16:2c46 2c17:2c47 2c18:2c48 2c19:2c49 2c1a:2c4a 2c1b:2c4b
        2c1c:2c4c 2c1d:2c4d 2c1e:2c4e 2c1f:2c4f 2c20:2c50 2c21:2c51 2c22:2c52 2c23:2c53 2c24:2c54
        2c25:2c55 2c26:2c56 2c27:2c57 2c28:2c58 2c29:2c59 2c2a:2c5a 2c2b:2c5b 2c2c:2c5c 2c2d:2c5d
        2c2e:2c5e 2c2f:2c5f 2c60:2c61 2c62:26b 2c63:1d7d 2c64:27d 2c67:2c68 2c69:2c6a 2c6b:2c6c 2c6d:251
        2c6e:271 2c6f:250 2c70:252 2c72:2c73 2c75:2c76 2c7e:23f 2c7f:240 2c80:2c81 2c82:2c83 2c84:2c85
        2c86:2c87 2c88:2c89 2c8a:2c8b 2c8c:2c8d 2c8e:2c8f 2c90:2c91 2c92:2c93 2c94:2c95 2c96:2c97
        2c98:2c99 2c9a:2c9b 2c9c:2c9d 2c9e:2c9f 2ca0:2ca1 2ca2:2ca3 2ca4:2ca5 2ca6:2ca7 2ca8:2ca9
        2caa:2cab 2cac:2cad 2cae:2caf 2cb0:2cb1 2cb2:2cb3 2cb4:2cb5 2cb6:2cb7 2cb8:2cb9 2cba:2cbb
        2cbc:2cbd 2cbe:2cbf 2cc0:2cc1 2cc2:2cc3 2cc4:2cc5 2cc6:2cc7 2cc8:2cc9 2cca:2ccb 2ccc:2ccd
        2cce:2ccf 2cd0:2cd1 2cd2:2cd3 2cd4:2cd5 2cd6:2cd7 2cd8:2cd9 2cda:2cdb 2cdc:2cdd 2cde:2cdf
        2ce0:2ce1 2ce2:2ce3 2ceb:2cec 2ced:2cee 2cf2:2cf3 a640:a641 a642:a643 a644:a645 a646:a647
        a648:a649 a64a:a64b a64c:a64d a64e:a64f a650:a651 a652:a653 a654:a655 a656:a657 a658:a659
        a65a:a65b a65c:a65d a65e:a65f a660:a661 a662:a663 a664:a665 a666:a667 a668:a669 a66a:a66b
        a66c:a66d a680:a681 a682:a683 a684:a685 a686:a687 a688:a689 a68a:a68b a68c:a68d a68e:a68f
        a690:a691 a692:a693 a694:a695 a696:a697 a698:a699 a69a:a69b a722:a723 a724:a725 a726:a727
        a728:a729 a72a:a72b a72c:a72d a72e:a72f a732:a733 a734:a735 a736:a737 a738:a739 a73a:a73b
        a73c:a73d a73e:a73f a740:a741 a742:a743 a744:a745 a746:a747 a748:a749 a74a:a74b a74c:a74d
        a74e:a74f a750:a751 a752:a753 a754:a755 a756:a757 a758:a759 a75a:a75b a75c:a75d a75e:a75f
        a760:a761 a762:a763 a764:a765 a766:a767 a768:a769 a76a:a76b a76c:a76d a76e:a76f a779:a77a
        a77b:a77c a77d:1d79 a77e:a77f a780:a781 a782:a783 a784:a785 a786:a787 a78b:a78c a78d:265
        a790:a791 a792:a793 a796:a797 a798:a799 a79a:a79b a79c:a79d a79e:a79f a7a0:a7a1 a7a2:a7a3
        a7a4:a7a5 a7a6:a7a7 a7a8:a7a9 a7aa:266 a7ab:25c a7ac:261 a7ad:26c a7ae:26a a7b0:29e a7b1:287
        a7b2:29d a7b3:ab53 a7b4:a7b5 a7b6:a7b7 a7b8:a7b9 a7ba:a7bb a7bc:a7bd a7be:a7bf a7c0:a7c1
        a7c2:a7c3 a7c4:a794 a7c5:282 a7c6:1d8e a7c7:a7c8 a7c9:a7ca a7cb:264 a7cc:a7cd a7ce:a7cf
        a7d0:a7d1 a7d2:a7d3 a7d4:a7d5 a7d6:a7d7 a7d8:a7d9 a7da:a7db a7dc:19b a7f5:a7f6 ff21:ff41
        ff22:ff42 ff23:ff43 ff24:ff44 ff25:ff45 ff26:ff46 ff27:ff47 ff28:ff48 ff29:ff49 ff2a:ff4a
        ff2b:ff4b ff2c:ff4c ff2d:ff4d ff2e:ff4e ff2f:ff4f ff30:ff50 ff31:ff51 ff32:ff52 ff33:ff53
        ff34:ff54 ff35:ff55 ff36:ff56 ff37:ff57 ff38:ff58 ff39:ff59 ff3a:ff5a 10400:10428 10401:10429
        10402:1042a 10403:1042b 10404:1042c 10405:1042d 10406:1042e 10407:1042f 10408:10430 10409:10431
        1040a:10432 1040b:10433 1040c:10434 1040d:10435 1040e:10436 1040f:10437 10410:10438 10411:10439
        10412:1043a 10413:1043b 10414:1043c 10415:1043d 10416:1043e 10417:1043f 10418:10440 10419:10441
        1041a:10442 1041b:10443 1041c:10444 1041d:10445 1041e:10446 1041f:10447 10420:10448 10421:10449
        10422:1044a 10423:1044b 10424:1044c 10425:1044d 10426:1044e 10427:1044f 104b0:104d8 104b1:104d9
        104b2:104da 104b3:104db 104b4:104dc 104b5:104dd 104b6:104de 104b7:104df 104b8:104e0 104b9:104e1
        104ba:104e2 104bb:104e3 104bc:104e4 104bd:104e5 104be:104e6 104bf:104e7 104c0:104e8 104c1:104e9
        104c2:104ea 104c3:104eb 104c4:104ec 104c5:104ed 104c6:104ee 104c7:104ef 104c8:104f0 104c9:104f1
        104ca:104f2 104cb:104f3 104cc:104f4 104cd:104f5 104ce:104f6 104cf:104f7 104d0:104f8 104d1:104f9
        104d2:104fa 104d3:104fb 10570:10597 10571:10598 10572:10599 10573:1059a 10574:1059b 10575:1059c
        10576:1059d 10577:1059e 10578:1059f 10579:105a0 1057a:105a1 1057c:105a3 1057d:105a4 1057e:105a5
        1057f:105a6 10580:105a7 10581:105a8 10582:105a9 10583:105aa 10584:105ab 10585:105ac 10586:105ad
        10587:105ae 10588:105af 10589:105b0 1058a:105b1 1058c:105b3 1058d:105b4 1058e:105b5 1058f:105b6
        10590:105b7 10591:105b8 10592:105b9 10594:105bb 10595:105bc 10c80:10cc0 10c81:10cc1 10c82:10cc2
        10c83:10cc3 10c84:10cc4 10c85:10cc5 10c86:10cc6 10c87:10cc7 10c88:10cc8 10c89:10cc9 10c8a:10cca
        10c8b:10ccb 10c8c:10ccc 10c8d:10ccd 10c8e:10cce 10c8f:10ccf 10c90:10cd0 10c91:10cd1 10c92:10cd2
        10c93:10cd3 10c94:10cd4 10c95:10cd5 10c96:10cd6 10c97:10cd7 10c98:10cd8 10c99:10cd9 10c9a:10cda
        10c9b:10cdb 10c9c:10cdc 10c9d:10cdd 10c9e:10cde 10c9f:10cdf 10ca0:10ce0 10ca1:10ce1 10ca2:10ce2
        10ca3:10ce3 10ca4:10ce4 10ca5:10ce5 10ca6:10ce6 10ca7:10ce7 10ca8:10ce8 10ca9:10ce9 10caa:10cea
        10cab:10ceb 10cac:10cec 10cad:10ced 10cae:10cee 10caf:10cef 10cb0:10cf0 10cb1:10cf1 10cb2:10cf2
        10d50:10d70 10d51:10d71 10d52:10d72 10d53:10d73 10d54:10d74 10d55:10d75 10d56:10d76 10d57:10d77
        10d58:10d78 10d59:10d79 10d5a:10d7a 10d5b:10d7b 10d5c:10d7c 10d5d:10d7d 10d5e:10d7e 10d5f:10d7f
        10d60:10d80 10d61:10d81 10d62:10d82 10d63:10d83 10d64:10d84 10d65:10d85 118a0:118c0 118a1:118c1
        118a2:118c2 118a3:118c3 118a4:118c4 118a5:118c5 118a6:118c6 118a7:118c7 118a8:118c8 118a9:118c9
        118aa:118ca 118ab:118cb 118ac:118cc 118ad:118cd 118ae:118ce 118af:118cf 118b0:118d0 118b1:118d1
        118b2:118d2 118b3:118d3 118b4:118d4 118b5:118d5 118b6:118d6 118b7:118d7 118b8:118d8 118b9:118d9
        118ba:118da 118bb:118db 118bc:118dc 118bd:118dd 118be:118de 118bf:118df 16e40:16e60 16e41:16e61
        16e42:16e62 16e43:16e63 16e44:16e64 16e45:16e65 16e46:16e66 16e47:16e67 16e48:16e68 16e49:16e69
        16e4a:16e6a 16e4b:16e6b 16e4c:16e6c 16e4d:16e6d 16e4e:16e6e 16e4f:16e6f 16e50:16e70 16e51:16e71
        16e52:16e72 16e53:16e73 16e54:16e74 16e55:16e75 16e56:16e76 16e57:16e77 16e58:16e78 16e59:16e79
        16e5a:16e7a 16e5b:16e7b 16e5c:16e7c 16e5d:16e7d 16e5e:16e7e 16e5f:16e7f 16ea0:16ebb 16ea1:16ebc
        16ea2:16ebd 16ea3:16ebe 16ea4:16ebf 16ea5:16ec0 16ea6:16ec1 16ea7:16ec2 16ea8:16ec3 16ea9:16ec4
        16eaa:16ec5 16eab:16ec6 16eac:16ec7 16ead:16ec8 16eae:16ec9 16eaf:16eca 16eb0:16ecb 16eb1:16ecc
        16eb2:16ecd 16eb3:16ece 16eb4:16ecf 16eb5:16ed0 16eb6:16ed1 16eb7:16ed2 16eb8:16ed3 1e900:1e922
        1e901:1e923 1e902:1e924 1e903:1e925 1e904:1e926 1e905:1e927 1e906:1e928 1e907:1e929 1e908:1e92a
        1e909:1e92b 1e90a:1e92c 1e90b:1e92d 1e90c:1e92e 1e90d:1e92f 1e90e:1e930 1e90f:1e931 1e910:1e932
        1e911:1e933 1e912:1e934 1e913:1e935 1e914:1e936 1e915:1e937 1e916:1e938 1e917:1e939 1e918:1e93a
        1e919:1e93b 1e91a:1e93c 1e91b:1e93d 1e91c:1e93e 1e91d:1e93f 1e91e:1e940 1e91f:1e941 1e920:1e942
        1e921:1e943
        """
}
// END GENERATED TABLES
