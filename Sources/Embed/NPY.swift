import Foundation

/// NumPy `.npy` files (format version 1.0) of little-endian float32 matrices, C order.
public enum NPY {
    /// Writes `values` as a float32 array of `shape`.
    public static func writeFloat32(_ values: [Float], shape: [Int], to path: String) throws {
        precondition(values.count == shape.reduce(1, *), "NPY: shape does not match the values")
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        // Magic (6) + version (2) + length (2) + header + newline, padded with spaces to a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        out.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        out.append(contentsOf: Array(header.utf8))
        values.withUnsafeBufferPointer { p in
            out.append(contentsOf: UnsafeRawBufferPointer(p).map { $0 }) // x86_64 and arm64 are little-endian
        }
        let tmp = path + ".tmp"
        try out.write(to: URL(fileURLWithPath: tmp))
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: tmp, toPath: path)
    }

    /// Reads a float32 `.npy` file: its shape and values.
    public static func readFloat32(path: String) throws -> (shape: [Int], values: [Float]) {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard data.count >= 10, data[0] == 0x93, Array(data[1..<6]) == Array("NUMPY".utf8) else {
            throw ModelFileError("\(path): not a NumPy .npy file (no magic at offset 0)")
        }
        let major = data[6]
        let headerLength = major == 1 ? Int(data[8]) | Int(data[9]) << 8
                                      : Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24
        let start = major == 1 ? 10 : 12
        guard start + headerLength <= data.count else { throw ModelFileError("\(path): header runs past the end of the file") }
        let header = String(decoding: data[start..<(start + headerLength)], as: UTF8.self)
        guard header.contains("'descr': '<f4'"), header.contains("'fortran_order': False"),
              let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw ModelFileError("\(path): expected a little-endian float32 array in C order, header \(header)")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let count = shape.reduce(1, *)
        let body = start + headerLength
        guard data.count - body == count * 4 else {
            throw ModelFileError("\(path): \(data.count - body) data bytes for shape \(shape) (expected \(count * 4))")
        }
        let values = data[body...].withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        return (shape, values)
    }
}
