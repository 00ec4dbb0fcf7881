import CZlib
import CZstd
import Foundation

/// Thrift's compact protocol, the little of it Parquet's metadata needs: structs of i32, i64,
/// binary, list and struct fields (field ids delta-encoded in the header byte, zigzag varints).
struct ThriftCompactWriter {
    private(set) var bytes: [UInt8] = []
    private var lastField: [Int16] = [0]

    enum FieldType: UInt8 { case i32 = 5, i64 = 6, binary = 8, list = 9, structure = 12 }

    private mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }
    private mutating func zigzag(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }

    private mutating func header(_ id: Int16, _ type: FieldType) {
        let delta = id - lastField[lastField.count - 1]
        if delta > 0 && delta <= 15 { bytes.append(UInt8(delta) << 4 | type.rawValue) }
        else { bytes.append(type.rawValue); zigzag(Int64(id)) }
        lastField[lastField.count - 1] = id
    }

    mutating func i32(_ id: Int16, _ v: Int32) { header(id, .i32); zigzag(Int64(v)) }
    mutating func i64(_ id: Int16, _ v: Int64) { header(id, .i64); zigzag(v) }
    mutating func binary(_ id: Int16, _ s: String) { header(id, .binary); varint(UInt64(s.utf8.count)); bytes += Array(s.utf8) }

    /// A struct field: `body` writes its fields.
    mutating func structure(_ id: Int16, _ body: (inout ThriftCompactWriter) -> Void) {
        header(id, .structure)
        structBody(body)
    }

    /// A list field of `count` elements of `element` type; `body` writes the elements.
    mutating func list(_ id: Int16, _ element: FieldType, count: Int, _ body: (inout ThriftCompactWriter) -> Void) {
        header(id, .list)
        if count < 15 { bytes.append(UInt8(count) << 4 | element.rawValue) } else { bytes.append(0xF0 | element.rawValue); varint(UInt64(count)) }
        body(&self)
    }

    /// One struct (a list element, or the top level): its fields, then the stop byte.
    mutating func structBody(_ body: (inout ThriftCompactWriter) -> Void) {
        lastField.append(0)
        body(&self)
        bytes.append(0)
        lastField.removeLast()
    }

    /// List elements.
    mutating func element(i32 v: Int32) { zigzag(Int64(v)) }
    mutating func element(string s: String) { varint(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
}

/// A Parquet file of required UTF-8 string columns (BYTE_ARRAY with the STRING logical type),
/// written row group by row group: each column chunk is data pages of PLAIN-encoded values (no
/// levels: every value is there), compressed with zstd, gzip or not at all; the footer is Thrift
/// compact FileMetaData. Deterministic: the same rows give the same bytes.
final class ParquetStringTableWriter {
    let columns: [String]
    let codec: Compression
    let rowGroupRows: Int
    /// Uncompressed bytes of values per data page (a page ends after the value that reaches it).
    let pageBytes: Int
    private let sink: ([UInt8]) throws -> Void
    private var offset: Int64 = 0
    /// The current row group: per column, its pages so far and the open page.
    private var pending: [[UInt8]]
    private var pendingRows = 0
    private var rowGroups: [(rows: Int, chunks: [ChunkInfo])] = []
    private var totalRows: Int64 = 0

    struct ChunkInfo {
        var dataPageOffset: Int64
        var uncompressed: Int64
        var compressed: Int64
        var values: Int64
    }

    init(columns: [String], codec: Compression, rowGroupRows: Int, pageBytes: Int = 1 << 20,
         sink: @escaping ([UInt8]) throws -> Void) throws {
        self.columns = columns; self.codec = codec; self.rowGroupRows = max(1, rowGroupRows); self.sink = sink
        self.pageBytes = max(1, pageBytes)
        pending = Array(repeating: [], count: columns.count)
        try emit(Array("PAR1".utf8))
    }

    private func emit(_ bytes: [UInt8]) throws {
        try sink(bytes)
        offset += Int64(bytes.count)
    }

    /// One row: a value per column, as UTF-8 bytes.
    func append(_ row: [[UInt8]]) throws {
        precondition(row.count == columns.count)
        for (c, value) in row.enumerated() { value.withUnsafeBufferPointer { add(column: c, $0) } }
        try endRow()
    }

    /// The next value of column `c` (PLAIN: a 4-byte little-endian length, then the bytes); the
    /// row ends with `endRow()`.
    func add(column c: Int, _ value: UnsafeBufferPointer<UInt8>) {
        var length = UInt32(value.count).littleEndian
        withUnsafeBytes(of: &length) { pending[c].append(contentsOf: $0) }
        pending[c].append(contentsOf: value)
    }

    func add(column c: Int, _ value: String) {
        var value = value
        value.withUTF8 { add(column: c, $0) }
    }

    func endRow() throws {
        pendingRows += 1
        if pendingRows == rowGroupRows { try flushRowGroup() }
    }

    /// Writes the row group's column chunks: pages of about `pageBytes` each.
    private func flushRowGroup() throws {
        guard pendingRows > 0 else { return }
        var chunks: [ChunkInfo] = []
        for c in columns.indices {
            let values = pending[c]
            var info = ChunkInfo(dataPageOffset: offset, uncompressed: 0, compressed: 0, values: Int64(pendingRows))
            // Cut the PLAIN values into pages at value boundaries.
            var start = 0, count = 0, position = 0
            var pages: [(Range<Int>, Int)] = []
            while position < values.count {
                let length = Int(values[position]) | Int(values[position + 1]) << 8 | Int(values[position + 2]) << 16 | Int(values[position + 3]) << 24
                position += 4 + length
                count += 1
                if position - start >= pageBytes { pages.append((start..<position, count)); start = position; count = 0 }
            }
            if count > 0 || pages.isEmpty { pages.append((start..<position, count)) }
            for (range, n) in pages {
                let raw = Array(values[range])
                let body = try compress(raw)
                var header = ThriftCompactWriter()
                header.structBody { h in
                    h.i32(1, 0)                              // type: DATA_PAGE
                    h.i32(2, Int32(raw.count))               // uncompressed_page_size
                    h.i32(3, Int32(body.count))              // compressed_page_size
                    h.structure(5) { d in                    // data_page_header
                        d.i32(1, Int32(n))                   // num_values
                        d.i32(2, 0)                          // encoding: PLAIN
                        d.i32(3, 3)                          // definition_level_encoding: RLE
                        d.i32(4, 3)                          // repetition_level_encoding: RLE
                    }
                }
                try emit(header.bytes)
                try emit(body)
                info.uncompressed += Int64(header.bytes.count + raw.count)
                info.compressed += Int64(header.bytes.count + body.count)
            }
            chunks.append(info)
            pending[c].removeAll(keepingCapacity: true)
        }
        rowGroups.append((pendingRows, chunks))
        totalRows += Int64(pendingRows)
        pendingRows = 0
    }

    private var codecID: Int32 {
        switch codec {
        case .none: return 0   // UNCOMPRESSED
        case .gzip: return 2   // GZIP
        case .zstd: return 6   // ZSTD
        }
    }

    private func compress(_ raw: [UInt8]) throws -> [UInt8] {
        switch codec {
        case .none:
            return raw
        case .zstd:
            var out = [UInt8](repeating: 0, count: ZSTD_compressBound(raw.count))
            let n = out.withUnsafeMutableBytes { o in raw.withUnsafeBytes { i in ZSTD_compress(o.baseAddress, o.count, i.baseAddress, i.count, 3) } }
            if ZSTD_isError(n) != 0 { throw ExportError.compression("zstd: \(String(cString: ZSTD_getErrorName(n)))") }
            return Array(out.prefix(n))
        case .gzip:
            var stream = z_stream()
            // windowBits 15 + 16: a gzip member; zlib's default header has mtime 0.
            guard deflateInit2_(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                                Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw ExportError.compression("deflateInit2 failed") }
            defer { deflateEnd(&stream) }
            var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(raw.count))) + 32)
            var input = raw
            let rc = input.withUnsafeMutableBufferPointer { i in
                out.withUnsafeMutableBufferPointer { o -> Int32 in
                    stream.next_in = i.baseAddress; stream.avail_in = UInt32(i.count)
                    stream.next_out = o.baseAddress; stream.avail_out = UInt32(o.count)
                    return deflate(&stream, Z_FINISH)
                }
            }
            guard rc == Z_STREAM_END else { throw ExportError.compression("deflate failed (zlib code \(rc))") }
            return Array(out.prefix(Int(stream.total_out)))
        }
    }

    /// Writes the last row group, the footer, its length and the closing magic.
    func finish() throws {
        try flushRowGroup()
        var meta = ThriftCompactWriter()
        meta.structBody { m in
            m.i32(1, 1)                                                  // version
            m.list(2, .structure, count: columns.count + 1) { l in      // schema: the root, then the columns
                l.structBody { s in
                    s.binary(4, "schema")
                    s.i32(5, Int32(self.columns.count))                  // num_children
                }
                for name in self.columns {
                    l.structBody { s in
                        s.i32(1, 6)                                      // type: BYTE_ARRAY
                        s.i32(3, 0)                                      // repetition_type: REQUIRED
                        s.binary(4, name)
                        s.i32(6, 0)                                      // converted_type: UTF8
                        s.structure(10) { t in t.structure(1) { _ in } } // logicalType: STRING
                    }
                }
            }
            m.i64(3, self.totalRows)                                     // num_rows
            m.list(4, .structure, count: self.rowGroups.count) { l in    // row_groups
                for group in self.rowGroups {
                    l.structBody { g in
                        g.list(1, .structure, count: group.chunks.count) { cl in
                            for (c, chunk) in group.chunks.enumerated() {
                                cl.structBody { cc in
                                    cc.i64(2, chunk.dataPageOffset)      // file_offset
                                    cc.structure(3) { md in              // meta_data
                                        md.i32(1, 6)                     // type: BYTE_ARRAY
                                        md.list(2, .i32, count: 1) { $0.element(i32: 0) } // encodings: PLAIN
                                        md.list(3, .binary, count: 1) { $0.element(string: self.columns[c]) }
                                        md.i32(4, self.codecID)
                                        md.i64(5, chunk.values)
                                        md.i64(6, chunk.uncompressed)
                                        md.i64(7, chunk.compressed)
                                        md.i64(9, chunk.dataPageOffset)
                                    }
                                }
                            }
                        }
                        g.i64(2, group.chunks.reduce(0) { $0 + $1.uncompressed })  // total_byte_size
                        g.i64(3, Int64(group.rows))                                // num_rows
                    }
                }
            }
            m.binary(6, "herd")                                          // created_by
        }
        try emit(meta.bytes)
        var length = UInt32(meta.bytes.count).littleEndian
        try emit(withUnsafeBytes(of: &length) { Array($0) })
        try emit(Array("PAR1".utf8))
    }
}
