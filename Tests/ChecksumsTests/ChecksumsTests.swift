import Checksums
import XCTest

final class ChecksumsTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let h = SHA256Hasher()
        h.update("a"); h.update("bc")
        XCTAssertEqual(h.finalizeHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testCRC32CKnownVectors() {
        // RFC 3720 B.4 test vectors and the standard check value.
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum(Array(UInt8(0)...UInt8(31))), 0x46DD_794E)
        // Lengths that exercise the 8-byte loop and the tail.
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var running: UInt32 = 0
        for n in [0, 1, 7, 8, 9, 63, 1000] {
            running = CRC32C.checksum(Array(bytes[0..<n]))
            XCTAssertNotEqual(running, 1) // runs without trapping for every length
        }
        XCTAssertEqual(CRC32C.masked(0), 0xa282_ead8)
    }
}
