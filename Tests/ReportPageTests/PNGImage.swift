import CZlib
import Foundation

/// An 8-bit RGB or RGBA PNG without interlacing (what Chromium's screenshots are), decoded to
/// rows of pixels: IHDR read, the IDAT chunks joined and inflated, each row's filter undone.
struct PNGImage {
    let width: Int
    let height: Int
    /// 3 (RGB) or 4 (RGBA) bytes per pixel.
    let channels: Int
    /// height rows of width × channels bytes.
    let pixels: [UInt8]

    struct DecodingError: Error, CustomStringConvertible {
        let description: String
    }

    /// The pixel at (x, y) as 0xRRGGBB; alpha is ignored (screenshots are opaque).
    func rgb(x: Int, y: Int) -> UInt32 {
        let at = (y * width + x) * channels
        return UInt32(pixels[at]) << 16 | UInt32(pixels[at + 1]) << 8 | UInt32(pixels[at + 2])
    }

    init(data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw DecodingError(description: "not a PNG signature")
        }
        func bigEndian32(_ at: Int) -> Int {
            Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        }
        var header: ArraySlice<UInt8>?
        var compressed: [UInt8] = []
        var at = 8
        while at + 8 <= bytes.count {
            let length = bigEndian32(at), type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
            guard at + 12 + length <= bytes.count else { throw DecodingError(description: "chunk \(type) runs past the end") }
            let body = bytes[(at + 8)..<(at + 8 + length)]
            if type == "IHDR" { header = body }
            if type == "IDAT" { compressed += body }
            if type == "IEND" { break }
            at += 12 + length
        }
        guard let header, header.count == 13 else { throw DecodingError(description: "no IHDR chunk") }
        let ihdr = Array(header)
        width = Int(ihdr[0]) << 24 | Int(ihdr[1]) << 16 | Int(ihdr[2]) << 8 | Int(ihdr[3])
        height = Int(ihdr[4]) << 24 | Int(ihdr[5]) << 16 | Int(ihdr[6]) << 8 | Int(ihdr[7])
        let bitDepth = ihdr[8], colourType = ihdr[9], interlace = ihdr[12]
        guard bitDepth == 8, colourType == 2 || colourType == 6, interlace == 0 else {
            throw DecodingError(description: "unsupported PNG: bit depth \(bitDepth), colour type \(colourType), interlace \(interlace)")
        }
        channels = colourType == 6 ? 4 : 3
        let stride = width * channels
        let filtered = try Self.inflate(compressed, expectedSize: height * (stride + 1))
        pixels = try Self.unfilter(filtered, height: height, stride: stride, bytesPerPixel: channels)
    }

    private static func inflate(_ input: [UInt8], expectedSize: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: expectedSize)
        var stream = z_stream()
        guard inflateInit_(&stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DecodingError(description: "inflateInit failed")
        }
        defer { inflateEnd(&stream) }
        var source = input
        let status: Int32 = source.withUnsafeMutableBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                stream.next_in = inputBuffer.baseAddress
                stream.avail_in = uInt(inputBuffer.count)
                stream.next_out = outputBuffer.baseAddress
                stream.avail_out = uInt(outputBuffer.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END, stream.total_out == expectedSize else {
            throw DecodingError(description: "image data did not inflate to \(expectedSize) bytes (zlib status \(status), \(stream.total_out) bytes)")
        }
        return output
    }

    /// Undoes the per-row filters (None, Sub, Up, Average, Paeth), each row's first byte naming its filter.
    private static func unfilter(_ data: [UInt8], height: Int, stride: Int, bytesPerPixel: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: height * stride)
        // The row before the first one reads as zeros.
        let zeros = [UInt8](repeating: 0, count: stride)
        try data.withUnsafeBufferPointer { input in
            try out.withUnsafeMutableBufferPointer { output in
                try zeros.withUnsafeBufferPointer { zeroRow in
                    for row in 0..<height {
                        let filter = input[row * (stride + 1)]
                        let raw = input.baseAddress! + row * (stride + 1) + 1
                        let current = output.baseAddress! + row * stride
                        let previous = row > 0 ? UnsafePointer(current - stride) : zeroRow.baseAddress!
                        switch filter {
                        case 0:
                            for i in 0..<stride { current[i] = raw[i] }
                        case 1:
                            for i in 0..<stride { current[i] = raw[i] &+ (i >= bytesPerPixel ? current[i - bytesPerPixel] : 0) }
                        case 2:
                            for i in 0..<stride { current[i] = raw[i] &+ previous[i] }
                        case 3:
                            for i in 0..<stride {
                                let left = i >= bytesPerPixel ? Int(current[i - bytesPerPixel]) : 0
                                current[i] = raw[i] &+ UInt8((left + Int(previous[i])) / 2)
                            }
                        case 4:
                            for i in 0..<stride {
                                let left = i >= bytesPerPixel ? current[i - bytesPerPixel] : 0
                                let upLeft = i >= bytesPerPixel ? previous[i - bytesPerPixel] : 0
                                current[i] = raw[i] &+ paeth(left, previous[i], upLeft)
                            }
                        default:
                            throw DecodingError(description: "unknown filter \(filter) on row \(row)")
                        }
                    }
                }
            }
        }
        return out
    }

    private static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }
}
