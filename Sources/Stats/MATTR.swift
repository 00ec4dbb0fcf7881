/// Moving-average type-token ratio (Covington & McFall 2010): the mean, over every window of
/// `MATTR.window` (50) consecutive tokens, of (distinct tokens in the window / 50). With fewer
/// than 50 tokens it is the plain type-token ratio of all tokens, and 0 without tokens.
/// Texts are joined with "\n", so no token spans two texts.
///
/// ## Tokens
/// Identical to the default pipeline of the Python package `lexicalrichness` 0.5.1
/// (`LexicalRichness(text)`, its `preprocess` then `tokenize`), which does, on the whole text:
/// 1. `text.lower()`: Python's full lower-casing. Every character takes its Unicode lower-case
///    mapping, U+0130 `İ` becomes `i` + U+0307, and `Σ` becomes final `ς` when it follows a cased
///    letter (skipping case-ignorable characters) and no cased letter follows (skipping
///    case-ignorable characters), otherwise `σ`. No language-specific (Turkish, Lithuanian) rules:
///    `I` → `i`, `ı` stays.
/// 2. `re.sub("[0-9]+", "", …)`: ASCII digits are deleted, joining what surrounds them
///    (`"abc123def"` → `abcdef`, `"3rd"` → `rd`, `"2024"` → nothing). Other digits are kept.
/// 3. `-` (U+002D), `–` (U+2013) and `—` (U+2014) are deleted, joining what surrounds them
///    (`"well-known"` → `wellknown`, `"twenty–one"` → `twentyone`). Other dashes are kept.
/// 4. Every other character of Python's `string.punctuation`,
///    ``!"#$%&'()*+,./:;<=>?@[\]^_`{|}~``, becomes a space, so it separates tokens
///    (`"don't"` → `don`, `t`; `"e.g."` → `e`, `g`). Non-ASCII punctuation (`’`, `“`, `…`, `。`)
///    stays inside tokens (`"don’t"` is one token).
/// 5. `str.split()`: the text is split on Python whitespace — Unicode `White_Space` plus the
///    ASCII separators U+001C–U+001F — and empty pieces are dropped. U+200B is not whitespace.
///
/// (The package runs `preprocess` twice; the second run changes nothing.) Tokens are compared
/// by their UTF-8 bytes, so there is no Unicode normalisation: `é` and `e` + U+0301 are
/// different tokens, as in Python. Character properties come from the Swift runtime's Unicode
/// data, so characters newer than Python's (Unicode 14.0 for Python 3.11) may differ.
/// Each token is reduced to a 64-bit hash; two different tokens of up to 7 bytes and the same
/// length never collide.
public enum MATTR {
    /// The window size used throughout Herd's statistics.
    public static let window = 50

    /// MATTR (a ratio in 0…1, not ×100) of one text.
    public static func value(of text: String) -> Double {
        value(of: [text])
    }

    /// MATTR of texts joined with "\n" (tokens never span two texts).
    public static func value(of texts: [String]) -> Double {
        let r = measure(texts)
        return r.mattr
    }

    /// Tokens, distinct tokens (over all of them) and MATTR of texts joined with "\n".
    public static func measure(_ texts: [String]) -> (tokens: Int64, types: Int64, mattr: Double) {
        var scanner = TextScanner()
        var sink = CollectingSink(window: MattrWindow(), seen: [])
        defer { sink.window.deallocate() }
        for t in texts {
            var t = t
            t.withUTF8 { _ = scanner.scan($0, into: &sink) }
        }
        return (sink.window.total, Int64(sink.seen.count), sink.window.mattr)
    }
}

/// Feeds one window.
struct WindowSink: TokenSink {
    var window: MattrWindow
    @inline(__always) mutating func add(_ hash: UInt64) { window.add(hash) }
}

/// Feeds two windows (a subset's and the total's).
struct PairSink: TokenSink {
    var a: MattrWindow
    var b: MattrWindow
    @inline(__always) mutating func add(_ hash: UInt64) {
        a.add(hash)
        b.add(hash)
    }
}

/// Also remembers every distinct token (for `MATTR.measure`).
struct CollectingSink: TokenSink {
    var window: MattrWindow
    var seen: Set<UInt64>
    mutating func add(_ hash: UInt64) {
        window.add(hash)
        seen.insert(hash)
    }
}

/// A MATTR accumulator over a token stream (window 50), in O(1) per token without deletions:
///
/// - `ring` holds the hashes of the last 64 tokens (index: position & 63);
/// - `latest` is a direct-mapped table, by hash bits, of the position of the latest token whose
///   hash falls in each bucket. A token's previous occurrence in the last 50 positions is that
///   position when the ring confirms the hash there; when another token took the bucket since
///   (rare: 50 live tokens in 2048 buckets) the ring is searched instead;
/// - `recurs` marks the positions whose token has occurred again since.
///
/// When token i arrives, the window [i-49, i] loses a type if token i-50, which leaves it, does
/// not occur again in [i-49, i-1], and gains one if token i does not occur there.
/// The sum of distinct counts over complete windows gives MATTR.
///
/// It also keeps the stream's first 49 tokens, so that streams computed separately over
/// consecutive id ranges can be joined exactly (`append`).
///
/// A value type over manually managed memory: copies share storage; the owner calls
/// `deallocate()` once.
struct MattrWindow {
    static let size = MATTR.window
    static let ringSize = 64
    static let buckets = 2048
    private static let never = Int64.min / 2

    private let ring: UnsafeMutablePointer<UInt64>      // ringSize
    private let recurs: UnsafeMutablePointer<UInt8>     // ringSize
    private let latest: UnsafeMutablePointer<Int64>     // buckets
    private let prefix: UnsafeMutablePointer<UInt64>    // size: the stream's first tokens (49 are used)

    /// Position of the next token in this window state (after `append`, the joined stream's
    /// positions count from the start of its last part).
    private var next: Int64 = 0
    /// Distinct tokens in the current window (the last 50 tokens, or all of them before that).
    private(set) var distinct = 0
    /// Tokens seen.
    private(set) var total: Int64 = 0
    /// Sum over complete windows of their distinct counts.
    private(set) var sum: Int64 = 0

    init() {
        ring = .allocate(capacity: Self.ringSize)
        ring.initialize(repeating: 0, count: Self.ringSize)
        recurs = .allocate(capacity: Self.ringSize)
        recurs.initialize(repeating: 0, count: Self.ringSize)
        latest = .allocate(capacity: Self.buckets)
        latest.initialize(repeating: Self.never, count: Self.buckets)
        prefix = .allocate(capacity: Self.size)
        prefix.initialize(repeating: 0, count: Self.size)
    }

    func deallocate() {
        ring.deallocate(); recurs.deallocate(); latest.deallocate(); prefix.deallocate()
    }

    /// MATTR of the stream so far, as a ratio.
    var mattr: Double {
        if total >= Int64(Self.size) {
            return Double(sum) / (Double(Self.size) * Double(total - Int64(Self.size) + 1))
        }
        return total == 0 ? 0 : Double(distinct) / Double(total)
    }

    @inline(__always)
    mutating func add(_ h: UInt64) {
        let i = next
        let bucket = Int(truncatingIfNeeded: h) & (Self.buckets - 1)
        let q = latest[bucket]
        let inRange = q >= i &- 50            // q is in [i-50, i-1]
        let same = ring[Int(q & 63)] == h
        // p: the previous occurrence of h in [i-50, i-1], or `never`.
        let p: Int64
        if (inRange ? 1 : 0) & (same ? 0 : 1) != 0 {
            p = previous(h, before: i)        // the bucket was taken by another token since
        } else {
            p = inRange ? q : Self.never
        }
        // Token i-50 leaves the window for good unless it recurs in [i-49, i-1]; token i is new
        // unless it occurs there.
        var change = p < i &- 49 ? 1 : 0
        if i >= 50 { change &-= Int(1 &- recurs[Int((i &- 50) & 63)]) }
        distinct &+= change
        let found = p >= i &- 50
        recurs[Int((found ? p : i) & 63)] = 1 // (position i's own mark is cleared below)
        ring[Int(i & 63)] = h
        recurs[Int(i & 63)] = 0
        latest[bucket] = i
        next = i &+ 1
        if i >= 49 { sum &+= Int64(distinct) }
        if total < Int64(Self.size) { prefix[Int(total)] = h }
        total &+= 1
    }

    /// The latest position in [i-50, i-1] holding `h`, or `never`.
    private func previous(_ h: UInt64, before i: Int64) -> Int64 {
        var j = i - 1
        while j >= max(0, i - 50) {
            if ring[Int(j & 63)] == h { return j }
            j -= 1
        }
        return Self.never
    }

    /// Continues this stream with `next`, a stream that was computed on its own from an empty
    /// window over the tokens that follow. Windows that straddle the join are counted by
    /// feeding `next`'s first 49 tokens; windows inside `next` come from its own sum; the
    /// window then becomes `next`'s last 50 tokens.
    mutating func append(_ other: MattrWindow) {
        let head = Int(min(other.total, Int64(Self.size - 1)))
        for k in 0..<head { add(other.prefix[k]) }
        guard other.total > Int64(head) else { return }
        // other.total ≥ 50: its window is full and holds its last 50 tokens.
        total += other.total - Int64(head)
        sum += other.sum
        copyWindow(from: other)
    }

    /// Takes the window state (last tokens, table, position) of `other`, keeping this stream's
    /// own counts and first tokens.
    private mutating func copyWindow(from other: MattrWindow) {
        ring.update(from: other.ring, count: Self.ringSize)
        recurs.update(from: other.recurs, count: Self.ringSize)
        latest.update(from: other.latest, count: Self.buckets)
        next = other.next
        distinct = other.distinct
    }

    /// Catches up with `leader`, a stream whose last 50 tokens were this stream's last 50 when
    /// `mark` was taken (of both) and that alone received the tokens since: it has the same
    /// window now, and the same windows were completed in both since the mark.
    mutating func catchUp(with leader: MattrWindow, since mark: ShadowMark) {
        precondition(mark.own.total >= Int64(Self.size) && mark.leader.total >= Int64(Self.size))
        total = mark.own.total + (leader.total - mark.leader.total)
        sum = mark.own.sum + (leader.sum - mark.leader.sum)
        copyWindow(from: leader)
    }

    var position: (total: Int64, sum: Int64) { (total, sum) }
}

/// Where a stream and the stream it shadows stood when shadowing began (`MattrWindow.catchUp`).
struct ShadowMark {
    var own: (total: Int64, sum: Int64)
    var leader: (total: Int64, sum: Int64)
}
