/// A growable array of a trivial type behind a stable-while-not-growing pointer, so worker threads
/// can read it through `base` without copy-on-write, uniqueness checks or exclusivity checks.
/// Only for plain values (`Int32`, `Int`, `UInt32`, `Double`, ...). Not thread-safe for writing.
final class FlatBuffer<Element> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int = 16) {
        self.capacity = max(capacity, 1)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    @inline(__always)
    subscript(i: Int) -> Element {
        get { base[i] }
        set { base[i] = newValue }
    }

    func reserve(_ wanted: Int) {
        if wanted <= capacity { return }
        var c = capacity
        while c < wanted { c = c &* 2 }
        let b = UnsafeMutablePointer<Element>.allocate(capacity: c)
        b.moveInitialize(from: base, count: count)
        base.deallocate()
        base = b
        capacity = c
    }

    @inline(__always)
    func append(_ x: Element) {
        if count == capacity { reserve(count + 1) }
        (base + count).initialize(to: x)
        count += 1
    }

    func append(contentsOf xs: UnsafeBufferPointer<Element>) {
        guard let src = xs.baseAddress, !xs.isEmpty else { return }
        reserve(count + xs.count)
        (base + count).initialize(from: src, count: xs.count)
        count += xs.count
    }

    /// Appends `n` copies of `x`.
    func append(repeating x: Element, count n: Int) {
        guard n > 0 else { return }
        reserve(count + n)
        (base + count).initialize(repeating: x, count: n)
        count += n
    }

    /// Grows to `n` elements, filling new ones with `x` (does nothing when already that long).
    func grow(to n: Int, filling x: Element) {
        if n > count { append(repeating: x, count: n - count) }
    }

    func removeAll() {
        base.deinitialize(count: count)
        count = 0
    }

    var buffer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }

    /// Bytes reserved.
    var allocatedBytes: Int { capacity * MemoryLayout<Element>.stride }
}
