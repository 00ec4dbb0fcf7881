import Foundation
import XCTest
@testable import Llama

// MARK: - Vocabulary source

/// SmolLM2-135M-Instruct's tokenizer metadata. For now it reads a JSON dump of the GGUF's
/// `tokenizer.ggml.*` keys; replace with a reader of the GGUF itself.
func loadVocabulary() throws -> TokenizerVocabulary {
    let path = BuiltInTeacher.path
    guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) missing: run make models") }
    return try TokenizerVocabulary(gguf: try GGUFFile(path: path))
}

/// llama.cpp's token ids for SmolLM2 (llama-cpp-python: tokenize(text, add_bos=False, special=...)):
/// the "tokenize" section of smollm2_reference.json beside this file.
private let bpeReferencePath: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("smollm2_reference.json").path

/// The SmolLM2 tokenizer, built once for all tests.
private let smolTokenizer: Result<BPETokenizer, Error> = Result { try BPETokenizer(loadVocabulary()) }

private func smol() throws -> BPETokenizer {
    try smolTokenizer.get()
}

// MARK: - A tiny vocabulary that needs no model

/// All 256 byte characters, then the given extra tokens; merges as given.
private func tinyVocabulary(extra: [(String, Int32)] = [], merges: [String] = [],
                            dropping: Set<UInt8> = [], pre: String = "smollm") -> TokenizerVocabulary {
    var tokens: [String] = []
    var types: [Int32] = []
    for b in 0..<256 where !dropping.contains(UInt8(b)) {
        tokens.append(BPEByteLevel.character(for: UInt8(b)))
        types.append(1)
    }
    for (text, type) in extra {
        tokens.append(text)
        types.append(type)
    }
    return TokenizerVocabulary(tokens: tokens, tokenTypes: types, merges: merges, preTokenizer: pre)
}

final class BPETokenizerTests: XCTestCase {

    // MARK: SmolLM2, checked against llama.cpp

    /// Cases from llama.cpp (llama-cpp-python 0.3.16), token texts checked by hand.
    func testHandCheckedCases() throws {
        let tok = try smol()
        let cases: [(String, Bool, [Int32])] = [
            ("Hello world", false, [19556, 905]),
            ("Hello, world! It's 2024.", false, [19556, 28, 905, 17, 657, 506, 216, 34, 32, 34, 36, 30]),
            ("I'm   testing   123456 numbers", false, [57, 5248, 256, 3728, 333, 33, 34, 35, 36, 37, 38, 2966]),
            ("tab\tand\nnewlines\n\ndone  ", false, [15999, 197, 397, 198, 2241, 5110, 198, 198, 22744, 256]),
            ("<|im_start|>user\nHi there<|im_end|>\n", true, [1, 4093, 198, 26843, 665, 2, 198]),
            ("<|im_start|>user\nHi there<|im_end|>\n", false,
             [44, 108, 306, 79, 3738, 108, 46, 4093, 198, 26843, 665, 44, 108, 306, 79, 486, 108, 46, 198]),
            ("<|im_start|><|im_end|><|endoftext|>", true, [1, 2, 0]),
            ("x<|im_start|x", true, [104, 44, 108, 306, 79, 3738, 108, 104]),
            ("They'll say we've re-done it'S", false, [4948, 3060, 1643, 392, 3543, 298, 29, 22744, 357, 23, 67]),
            ("caf\u{e9} na\u{ef}ve \u{65e5}\u{672c}\u{8a9e} \u{1f999}", false,
             [83, 1939, 2756, 15486, 46494, 17097, 241, 115, 40993, 179, 120, 248, 15107, 116, 243]),
            ("\u{663}\u{b2}\u{bd} x\u{a0}y\u{3000}z", false, [164, 113, 19133, 16738, 1792, 15442, 105, 12109, 218, 106]),
            // U+0004 and U+001D have no byte token in this vocabulary: llama.cpp drops them.
            ("a\u{4}b\u{1d}c", false, [81, 82, 83]),
            (String(repeating: "supercalifragilisticexpialidocious", count: 2), false,
             [14174, 5020, 342, 1808, 301, 40482, 104, 96, 409, 311, 42288,
              14174, 5020, 342, 1808, 301, 40482, 104, 96, 409, 311, 42288]),
            ("", false, []),
            (" ", false, [216]),
            ("   ", false, [333]),
            ("\n", false, [198]),
        ]
        for (text, special, ids) in cases {
            XCTAssertEqual(tok.encode(text, parseSpecial: special), ids, "\(text.debugDescription) special=\(special)")
        }
        // What some of those ids are.
        XCTAssertEqual(tok.id(of: "Hello"), 19556)
        XCTAssertEqual(tok.id(of: "Ġworld"), 905)
        XCTAssertEqual(tok.id(of: "'s"), 506)
        XCTAssertEqual(tok.id(of: "ĠĠĠ"), 333)
        XCTAssertEqual(tok.id(of: "Ċ"), 198)
        XCTAssertEqual(tok.id(of: "<|im_start|>"), 1)
        XCTAssertEqual(tok.id(of: "<|im_end|>"), 2)
        XCTAssertEqual(tok.id(of: "<|endoftext|>"), 0)
        XCTAssertNil(tok.id(of: "Ą")) // the byte 0x04
        XCTAssertEqual(tok.pieceBytes(905), Array(" world".utf8))
        XCTAssertEqual(tok.pieceBytes(1), Array("<|im_start|>".utf8))
        XCTAssertEqual(tok.pieceBytes(-1), [])
        XCTAssertEqual(tok.pieceBytes(Int32(tok.vocabularySize)), [])
    }

    func testVocabularyFacts() throws {
        let tok = try smol()
        XCTAssertEqual(tok.vocabularySize, 49152)
        XCTAssertEqual(tok.bosID, 1)
        XCTAssertEqual(tok.eosID, 2)
        XCTAssertFalse(tok.addBOS)
        XCTAssertTrue(tok.isControl(0))
        XCTAssertTrue(tok.isControl(1))
        XCTAssertTrue(tok.isControl(2))
        XCTAssertFalse(tok.isControl(905))
        XCTAssertFalse(tok.isControl(-1))
        XCTAssertFalse(tok.isControl(Int32(tok.vocabularySize)))
    }

    /// Every case in the reference file made with llama.cpp must match: ids and decoded text.
    func testReferenceCases() throws {
        guard let data = FileManager.default.contents(atPath: bpeReferencePath) else {
            throw XCTSkip("no llama.cpp reference at \(bpeReferencePath)")
        }
        let tok = try smol()
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try XCTUnwrap(object["tokenize"] as? [[String: Any]])
        XCTAssertFalse(cases.isEmpty)
        var identical = 0
        for (index, c) in cases.enumerated() {
            let text = try XCTUnwrap(c["text"] as? String)
            let special = c["special"] as? Bool ?? false
            let want = try XCTUnwrap(c["ids"] as? [Int]).map { Int32($0) }
            let got = tok.encode(text, parseSpecial: special)
            var same = got == want
            XCTAssertEqual(got, want, "case \(index): \(text.debugDescription) special=\(special)")
            switch c["pieces"] {
            case let pieces as [String]:
                // One string per token.
                let mine = want.map { tok.decode([$0]) }
                same = same && mine == pieces
                XCTAssertEqual(mine, pieces, "case \(index): pieces of \(text.debugDescription)")
            case let piece as String:
                // The whole detokenized text.
                same = same && tok.decode(want) == piece
                XCTAssertEqual(tok.decode(want), piece, "case \(index): decoded \(text.debugDescription)")
            default:
                break
            }
            if let piece = c["pieces_special"] as? String {
                // Detokenized with control tokens rendered.
                same = same && tok.decode(want, skipSpecial: false) == piece
                XCTAssertEqual(tok.decode(want, skipSpecial: false), piece, "case \(index): decoded \(text.debugDescription)")
            }
            if let texts = c["token_texts"] as? [String] {
                let mine = want.map { tok.tokenText($0) ?? "" }
                same = same && mine == texts
                XCTAssertEqual(mine, texts, "case \(index): token texts of \(text.debugDescription)")
            }
            if same { identical += 1 }
        }
        print("llama.cpp reference: \(identical) of \(cases.count) cases identical")
    }

    func testRoundTrip() throws {
        let tok = try smol()
        let texts = [
            "The quick brown fox jumps over the lazy dog.",
            "  Leading and trailing spaces   ",
            "Tabs\tand\r\nCRLF\nline\n\n\nbreaks\u{0B}\u{0C}",
            "Numbers: 3.14159, 1,000,000 and 2024-05-01T12:00:00Z",
            "Contractions: don't, won't, I'd, you'll, they're, we've, it's, I'M, 'quoted'",
            "Unicode: naïve café, Straße, İstanbul, Ελληνικά, русский, עברית, العربية, हिन्दी, 中文, 日本語, 한국어",
            "Combining: e\u{301} a\u{308}\u{304}; emoji 🦙🏳️‍🌈👩‍👩‍👧 ❤️; math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∑∫√",
            "Spaces: \u{A0}\u{2009}\u{3000}\u{200B}\u{FEFF}\u{85}|",
            "Code: func f(x: Int) -> Int { return x &* 2 } // comment\n\tif (a<b && c>d) {}",
            "<|im_start|>user\nNot parsed as special<|im_end|>",
            String(repeating: "long", count: 100) + " " + String(repeating: "=", count: 80),
            "Private use \u{E000}\u{F0000}, unassigned \u{378}, new \u{1C89}, tag \u{E0041}",
        ]
        for text in texts {
            XCTAssertEqual(tok.decode(tok.encode(text)), text, text.debugDescription)
        }
        // With special parsing the control tokens come back only when not skipped.
        let chat = ChatTemplate.chatML(system: nil, user: "Hi!")
        let ids = tok.encode(chat, parseSpecial: true)
        XCTAssertEqual(tok.decode(ids, skipSpecial: false), chat)
        XCTAssertEqual(tok.decode(ids), "system\n\(ChatTemplate.defaultSystemMessage)\nuser\nHi!\nassistant\n")
    }

    func testDecodeReplacesInvalidUTF8() throws {
        let tok = try smol()
        // "ð" is the byte 0xF0, the lead byte of a 4-byte sequence; "Ł" is 0x9F, a continuation byte.
        let a = try XCTUnwrap(tok.id(of: "a")), b = try XCTUnwrap(tok.id(of: "b"))
        let lead = try XCTUnwrap(tok.id(of: "ð")), continuation = try XCTUnwrap(tok.id(of: "Ł"))
        XCTAssertEqual(tok.pieceBytes(lead), [0xF0])
        XCTAssertEqual(tok.decode([a, lead, b]), "a\u{FFFD}b")
        XCTAssertEqual(tok.decode([a, lead, continuation]), "a\u{FFFD}")
        XCTAssertEqual(tok.decode([a, continuation, continuation, b]), "a\u{FFFD}\u{FFFD}b")
        // A split character decodes whole once its pieces are joined.
        XCTAssertEqual(tok.decode(tok.encode("a🦙b")), "a🦙b")
        XCTAssertEqual(tok.decode([-5, 1_000_000]), "")
    }

    func testConcurrentEncodingAgrees() throws {
        let tok = try smol()
        let texts = (0..<64).map { "Request \($0): summarise the following text about topic #\($0 * 7) in \($0 % 5 + 1) sentences." }
        let expected = texts.map { tok.encode($0) }
        let results = UnsafeMutableBufferPointer<[Int32]>.allocate(capacity: texts.count * 4)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: texts.count * 4) { i in
            results[i] = tok.encode(texts[i % texts.count])
        }
        for i in 0..<results.count {
            XCTAssertEqual(results[i], expected[i % texts.count])
        }
    }

    // MARK: Chat template

    func testChatTemplate() {
        XCTAssertEqual(
            ChatTemplate.chatML(system: nil, user: "What is 2+2?"),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(
            ChatTemplate.chatML(system: "Be brief.", user: "Hi"),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    func testChatTemplateTokens() throws {
        let tok = try smol()
        let ids = tok.encode(ChatTemplate.chatML(system: "Be brief.", user: "Hi"), parseSpecial: true)
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(Array(ids.suffix(4)), [1] + tok.encode("assistant") + [198])
        XCTAssertEqual(tok.encode("assistant").count, 2)
        XCTAssertEqual(ids.filter { $0 == 1 }.count, 3)
        XCTAssertEqual(ids.filter { $0 == 2 }.count, 2)
    }

    // MARK: Behaviour on a tiny vocabulary

    func testMergesApplyByRankThenLeftmost() throws {
        // "a a" outranks "b c"; "aa a" is known but "a aa" is not.
        let vocab = tinyVocabulary(extra: [("aa", 1), ("bc", 1), ("aaa", 1), ("abc", 1)],
                                   merges: ["a a", "b c", "aa a", "a bc"])
        let tok = try BPETokenizer(vocab)
        let a = tok.id(of: "a")!, aa = tok.id(of: "aa")!, aaa = tok.id(of: "aaa")!, abc = tok.id(of: "abc")!
        XCTAssertEqual(tok.encode("a"), [a])
        // a·a·a·a: the leftmost "a a" first, then "a a" (rank 0) again before "aa a" (rank 2).
        XCTAssertEqual(tok.encode("aaaa"), [aa, aa])
        // a·a·a·a·a -> aa·aa·a -> aa·aaa ("aa a" is the only pair left that merges).
        XCTAssertEqual(tok.encode("aaaaa"), [aa, aaa])
        XCTAssertEqual(tok.encode("aaa"), [aaa])
        // "a a" (rank 0) is taken before "b c" (rank 1), so "abc" cannot form after "aa".
        XCTAssertEqual(tok.encode("aabc"), [aa, tok.id(of: "bc")!])
        XCTAssertEqual(tok.encode("abc"), [abc])
    }

    func testLongWordsMatchShortWordAlgorithm() throws {
        let tok = try smol()
        var generator = SystemRandomNumberGenerator()
        let letters = Array("abcdefghijklmnopqrstuvwxyzETAOIN")
        let workspace = BPEWorkspace()
        for length in [2, 5, 17, 30, 47, 48, 49, 64, 100, 300] {
            for _ in 0..<20 {
                let word = String((0..<length).map { _ in letters.randomElement(using: &generator)! })
                let bytes = Array(word.utf8)
                var small: [Int32] = [], large: [Int32] = []
                bytes.withUnsafeBufferPointer { buffer in
                    if length <= 48 { tok.bpeSmall(buffer, 0, length, workspace, &small) }
                    tok.bpeLarge(buffer, 0, length, workspace, &large)
                }
                if length <= 48 { XCTAssertEqual(small, large, word) }
                XCTAssertEqual(tok.decode(large), word)
                XCTAssertEqual(tok.encode(word), large, word)
            }
        }
    }

    func testSpecialTokensLongestFirst() throws {
        let vocab = tinyVocabulary(extra: [("<s>", 3), ("<s><s>", 3), ("[U]", 4)])
        let tok = try BPETokenizer(vocab)
        let s = tok.id(of: "<s>")!, ss = tok.id(of: "<s><s>")!, u = tok.id(of: "[U]")!
        XCTAssertEqual(tok.encode("<s><s><s>", parseSpecial: true), [ss, s])
        XCTAssertEqual(tok.encode("x<s>y", parseSpecial: true), [tok.id(of: "x")!, s, tok.id(of: "y")!])
        // Without parseSpecial, control tokens are text, user-defined tokens are still tokens.
        XCTAssertFalse(tok.encode("<s>").contains(s))
        XCTAssertEqual(tok.encode("a[U]b"), [tok.id(of: "a")!, u, tok.id(of: "b")!])
        XCTAssertEqual(tok.decode([s, u]), "[U]")
        XCTAssertEqual(tok.decode([s, u], skipSpecial: false), "<s>[U]")
        XCTAssertTrue(tok.isControl(s))
        XCTAssertFalse(tok.isControl(u))
    }

    func testPreTokenizerSplits() throws {
        // Merges only apply within a word, so merged tokens show where the words are.
        let vocab = tinyVocabulary(extra: [("Ġa", 1), ("12", 1), ("ĠĠ", 1)], merges: ["Ġ a", "1 2", "Ġ Ġ"])
        let smol = try BPETokenizer(vocab)
        let gpt2 = try BPETokenizer(TokenizerVocabulary(tokens: vocab.tokens, tokenTypes: vocab.tokenTypes,
                                                        merges: vocab.merges, preTokenizer: "gpt-2"))
        let one = smol.id(of: "1")!, two = smol.id(of: "2")!, twelve = smol.id(of: "12")!
        // smollm splits digits apart; GPT-2 keeps " 12" together (" " then "12" merge).
        XCTAssertEqual(smol.encode("12"), [one, two])
        XCTAssertEqual(gpt2.encode("12"), [twelve])
        // "   a": two spaces, then " a" (\s+(?!\S) leaves one space for the word).
        XCTAssertEqual(smol.encode("   a"), [smol.id(of: "ĠĠ")!, smol.id(of: "Ġa")!])
        // Trailing whitespace stays one word.
        XCTAssertEqual(smol.encode("a  "), [smol.id(of: "a")!, smol.id(of: "ĠĠ")!])
    }

    func testMissingBytesAreDroppedAndUnknownMergeResultsFallBack() throws {
        // The vocabulary lacks the byte 'z'; "x y" merges to "xy", which is not a token.
        let vocab = tinyVocabulary(extra: [], merges: ["x y"], dropping: [UInt8(ascii: "z")])
        let tok = try BPETokenizer(vocab)
        let x = tok.id(of: "x")!, y = tok.id(of: "y")!
        XCTAssertEqual(tok.encode("xzx"), [x, x])
        // llama.cpp emits the single-character tokens of a non-token symbol's ASCII bytes.
        XCTAssertEqual(tok.encode("xy"), [x, y])
    }

    // MARK: Errors

    func testErrors() {
        func message(_ vocab: TokenizerVocabulary) -> String? {
            do {
                _ = try BPETokenizer(vocab)
                return nil
            } catch let error as TokenizerError {
                return error.description
            } catch {
                return "unexpected \(error)"
            }
        }
        var vocab = tinyVocabulary()
        vocab.preTokenizer = "llama3"
        XCTAssertEqual(message(vocab)?.contains("unknown pre-tokenizer 'llama3'"), true)

        vocab = tinyVocabulary(merges: ["a b", "a q9"])
        XCTAssertEqual(message(vocab)?.contains("merge 1 'a q9' names unknown token 'q9'"), true)

        vocab = tinyVocabulary(merges: ["ab"])
        XCTAssertEqual(message(vocab)?.contains("merge 0 'ab'"), true)

        vocab = tinyVocabulary(extra: [("a", 1)])
        XCTAssertEqual(message(vocab)?.contains("duplicate token"), true)

        vocab = tinyVocabulary()
        vocab.tokenTypes = [1, 1]
        XCTAssertNotNil(message(vocab))

        vocab = tinyVocabulary()
        vocab.bosID = 100_000
        XCTAssertEqual(message(vocab)?.contains("bos token id 100000"), true)

        XCTAssertNotNil(message(TokenizerVocabulary(tokens: [], tokenTypes: [], merges: [], preTokenizer: "smollm")))
    }
}
