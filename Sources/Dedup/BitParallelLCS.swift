/// Length of the longest common subsequence of two token sequences.
public enum LCS {
    /// The textbook dynamic programme (`rouge_scorer._lcs_table` keeps the whole table; the
    /// length only needs one row). O(|a|·|b|) time; the reference the bit-parallel one is tested
    /// against.
    public static func lengthByDynamicProgramming<Token: Equatable>(_ a: [Token], _ b: [Token]) -> Int {
        if a.isEmpty || b.isEmpty { return 0 }
        // row[j] = LCS(a[0..<i], b[0..<j]) for the current i.
        var row = [Int](repeating: 0, count: b.count + 1)
        for i in 0..<a.count {
            var diagonal = 0  // LCS(a[0..<i], b[0..<j]) before row[j] is overwritten
            for j in 0..<b.count {
                let above = row[j + 1]
                row[j + 1] = a[i] == b[j] ? diagonal + 1 : max(above, row[j])
                diagonal = above
            }
        }
        return row[b.count]
    }

    /// Bit-parallel LCS length of two id sequences. Allocates a scratch per call; loops should
    /// keep a `BitParallelLCS` instead.
    public static func length(_ a: [Int32], _ b: [Int32]) -> Int {
        BitParallelLCS().length(a, b)
    }
}

/// Bit-parallel LCS length over integer token ids (Allison–Dix 1986, in Hyyrö's 2004 form): the
/// "pattern" sequence of m ids is a vector V of m bits, initially all ones; for each id c of the
/// other ("text") sequence, with M[c] the bit mask of the pattern positions holding c,
///
///     U = V & M[c];   V = (V + U) | (V - U)        (V - U == V & ~M[c]; the add carries upward)
///
/// and at the end the LCS length is the number of zero bits among V's m bits. Time
/// O(⌈m/64⌉ · n); patterns longer than 64 ids use several words with the carry propagated.
///
/// The match masks live in a small open-addressing hash table keyed by id (at most an eighth
/// full, so it stays in L1 and a text id absent from the pattern costs about one probe); ids can
/// be any `Int32` and no vocabulary size is needed. All buffers belong to this object and only
/// grow: once warmed up, `length`, `setPattern` and `lengthAgainstPattern` allocate nothing. Not
/// thread-safe; keep one per worker. To compare one query with many candidates, `setPattern`
/// the query once and call `lengthAgainstPattern` for each candidate.
public final class BitParallelLCS {
    /// Per slot: the current stamp in the high 32 bits and the id in the low 32 bits; a slot
    /// whose stamp is not the current pattern's is empty, so a new pattern needs no clearing.
    private var slotKey: UnsafeMutablePointer<UInt64>
    /// Per slot: the id's mask when the pattern fits one word, else its row in `masks`.
    private var slotMask: UnsafeMutablePointer<UInt64>
    private var slotCapacity: Int
    private var slotShift: UInt32 = 32
    private var stamp: UInt32 = 0
    /// `words` mask words per distinct id of a multi-word pattern, row after row.
    private var masks: UnsafeMutablePointer<UInt64>
    private var maskCapacity: Int
    /// The bit vector V of a multi-word pattern.
    private var vector: UnsafeMutablePointer<UInt64>
    private var vectorCapacity: Int
    private var words = 0
    /// Number of ids in the current pattern.
    public private(set) var patternLength = 0

    public init() {
        slotCapacity = 64
        slotKey = .allocate(capacity: slotCapacity)
        slotKey.initialize(repeating: 0, count: slotCapacity)
        slotMask = .allocate(capacity: slotCapacity)
        slotMask.initialize(repeating: 0, count: slotCapacity)
        maskCapacity = 0
        masks = .allocate(capacity: 1)
        vectorCapacity = 0
        vector = .allocate(capacity: 1)
    }

    deinit {
        slotKey.deallocate()
        slotMask.deallocate()
        masks.deallocate()
        vector.deallocate()
    }

    /// LCS length of `a` and `b`; the shorter one becomes the bit-vector pattern.
    public func length(_ a: [Int32], _ b: [Int32]) -> Int {
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in length(pa, pb) } }
    }

    /// LCS length of `a` and `b`; the shorter one becomes the bit-vector pattern.
    public func length(_ a: UnsafeBufferPointer<Int32>, _ b: UnsafeBufferPointer<Int32>) -> Int {
        if a.isEmpty || b.isEmpty { return 0 }
        let (pattern, text) = a.count <= b.count ? (a, b) : (b, a)
        setPattern(pattern)
        return lengthAgainstPattern(text)
    }

    /// Makes `pattern` the bit-vector side for the following `lengthAgainstPattern` calls.
    public func setPattern(_ pattern: [Int32]) {
        pattern.withUnsafeBufferPointer { setPattern($0) }
    }

    /// Makes `pattern` the bit-vector side for the following `lengthAgainstPattern` calls.
    public func setPattern(_ pattern: UnsafeBufferPointer<Int32>) {
        let m = pattern.count
        patternLength = m
        words = (m + 63) >> 6
        if m == 0 { return }

        // At least 8m slots, a power of two, at least 64: misses, the common case, end at once.
        var capacity = 64
        var shift: UInt32 = 26
        while capacity < 8 * m {
            capacity <<= 1
            shift -= 1
        }
        if capacity > slotCapacity {
            slotKey.deallocate()
            slotMask.deallocate()
            slotCapacity = capacity
            slotKey = .allocate(capacity: capacity)
            slotKey.initialize(repeating: 0, count: capacity)
            slotMask = .allocate(capacity: capacity)
            slotMask.initialize(repeating: 0, count: capacity)
            stamp = 0
        }
        slotShift = shift
        stamp &+= 1
        if stamp == 0 {  // wrapped: stale stamps could look current
            slotKey.update(repeating: 0, count: slotCapacity)
            stamp = 1
        }
        let w = words
        if w > 1 {
            if maskCapacity < m * w {
                masks.deallocate()
                maskCapacity = m * w
                masks = .allocate(capacity: maskCapacity)
            }
            if vectorCapacity < w {
                vector.deallocate()
                vectorCapacity = w
                vector = .allocate(capacity: w)
            }
        }

        let currentStamp = UInt64(stamp) << 32
        let slotMaskBits = capacity - 1
        var rows = 0
        for position in 0..<m {
            let id = pattern[position]
            let key = currentStamp | UInt64(UInt32(bitPattern: id))
            var slot = Self.slot(of: id, shift: shift)
            while slotKey[slot] >> 32 == UInt64(stamp) && slotKey[slot] != key { slot = (slot + 1) & slotMaskBits }
            if w == 1 {
                if slotKey[slot] != key {
                    slotKey[slot] = key
                    slotMask[slot] = 0
                }
                slotMask[slot] |= 1 << UInt64(position)
            } else {
                if slotKey[slot] != key {
                    slotKey[slot] = key
                    slotMask[slot] = UInt64(rows)
                    (masks + rows * w).update(repeating: 0, count: w)
                    rows += 1
                }
                masks[Int(slotMask[slot]) * w + (position >> 6)] |= 1 << UInt64(position & 63)
            }
        }
    }

    /// LCS length of the current pattern and `text`.
    public func lengthAgainstPattern(_ text: [Int32]) -> Int {
        text.withUnsafeBufferPointer { lengthAgainstPattern($0) }
    }

    /// LCS length of the current pattern and `text`.
    public func lengthAgainstPattern(_ text: UnsafeBufferPointer<Int32>) -> Int {
        let m = patternLength
        if m == 0 || text.isEmpty { return 0 }
        let shift = slotShift
        let slotMaskBits = (1 << (32 - Int(shift))) - 1
        let currentStamp = UInt64(stamp)
        let keys = slotKey, slotValues = slotMask

        // The slot of `id`, or -1 when the pattern does not contain it.
        @inline(__always) func slot(of id: Int32) -> Int {
            let key = currentStamp << 32 | UInt64(UInt32(bitPattern: id))
            var slot = Self.slot(of: id, shift: shift)
            while true {
                let k = keys[slot]
                if k == key { return slot }
                if k >> 32 != currentStamp { return -1 }
                slot = (slot + 1) & slotMaskBits
            }
        }

        if words == 1 {
            var v: UInt64 = ~0
            for id in text {
                let s = slot(of: id)
                if s < 0 { continue }
                let u = v & slotValues[s]
                v = (v &+ u) | (v & ~u)
            }
            let used: UInt64 = m == 64 ? ~0 : (1 << UInt64(m)) - 1
            return m - (v & used).nonzeroBitCount
        }

        let w = words
        let v = vector
        v.update(repeating: ~0, count: w)
        for id in text {
            let s = slot(of: id)
            if s < 0 { continue }
            let row = masks + Int(slotValues[s]) * w
            var carry: UInt64 = 0
            for k in 0..<w {
                let vk = v[k]
                let u = vk & row[k]
                let (partial, overflow1) = vk.addingReportingOverflow(u)
                let (sum, overflow2) = partial.addingReportingOverflow(carry)
                carry = overflow1 || overflow2 ? 1 : 0
                v[k] = sum | (vk & ~u)
            }
        }
        var ones = 0
        for k in 0..<(w - 1) { ones += v[k].nonzeroBitCount }
        let bitsInLast = m - 64 * (w - 1)
        let used: UInt64 = bitsInLast == 64 ? ~0 : (1 << UInt64(bitsInLast)) - 1
        ones += (v[w - 1] & used).nonzeroBitCount
        return m - ones
    }

    /// Fibonacci hashing of the id into the table's top bits.
    @inline(__always)
    private static func slot(of id: Int32, shift: UInt32) -> Int {
        Int((UInt32(bitPattern: id) &* 0x9E37_79B1) >> shift)
    }
}
