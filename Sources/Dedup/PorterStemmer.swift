/// The Porter stemmer exactly as NLTK's `nltk.stem.porter.PorterStemmer()` runs it in its default
/// mode, `NLTK_EXTENSIONS` (the mode `rouge_score` gets with `use_stemmer=True`): Porter (1980)
/// plus Martin Porter's later changes plus NLTK's own (the irregular-forms table, `ies`/`ied` on
/// four-letter words, `y → i` only after a consonant, `alli` first, `fulli`, `logi`, two-letter
/// `*o`, and words of one or two letters left alone).
///
/// Defined on ASCII words; `rouge_score` only ever passes tokens of `[a-z0-9]` longer than three
/// characters. Upper-case ASCII letters are lower-cased first, as NLTK's `stem` does; other bytes
/// count as consonants (digits do in NLTK too, being neither vowels nor `y`).
///
/// Each step mirrors one NLTK method; a rule list stops at the first suffix that matches, even
/// when its condition fails, as NLTK's `_apply_rule_list` does.
public struct PorterStemmer: Sendable {
    public init() {}

    /// The stem of `word` (see the type's documentation for the exact variant).
    public func stem(_ word: String) -> String {
        String(decoding: stem(Array(word.utf8)), as: UTF8.self)
    }

    /// The stem of an ASCII word given as bytes.
    public func stem(_ word: [UInt8]) -> [UInt8] {
        var w = word
        for i in w.indices where w[i] >= 65 && w[i] <= 90 { w[i] += 32 }
        if let irregular = Self.irregularForms[w] { return irregular }
        if w.count <= 2 { return w }
        w = Self.step1a(w)
        w = Self.step1b(w)
        w = Self.step1c(w)
        w = Self.step2(w)
        w = Self.step3(w)
        w = Self.step4(w)
        w = Self.step5a(w)
        w = Self.step5b(w)
        return w
    }

    // MARK: Letters and measures (all on the prefix w[0..<n], the "stem" NLTK slices off)

    private static let a = UInt8(ascii: "a"), e = UInt8(ascii: "e"), i = UInt8(ascii: "i")
    private static let o = UInt8(ascii: "o"), u = UInt8(ascii: "u"), y = UInt8(ascii: "y")

    @inline(__always) private static func isVowelLetter(_ c: UInt8) -> Bool {
        c == a || c == e || c == i || c == o || c == u
    }

    /// NLTK `_is_consonant`: not a vowel, and a `y` is a consonant only when the letter before it
    /// is not one (a `y` at the start is a consonant).
    private static func isConsonant(_ w: [UInt8], _ index: Int) -> Bool {
        if isVowelLetter(w[index]) { return false }
        if w[index] != y { return true }
        var k = index
        var negate = false
        while k > 0 && w[k] == y {
            negate.toggle()
            k -= 1
        }
        return !isVowelLetter(w[k]) != negate
    }

    /// NLTK `_measure`: the number of "vc" transitions in the consonant/vowel pattern of w[0..<n].
    private static func measure(_ w: [UInt8], _ n: Int) -> Int {
        var count = 0
        var previousIsConsonant = true  // a leading consonant never closes a "vc"
        for k in 0..<n {
            let c = w[k]
            let consonant: Bool
            if isVowelLetter(c) {
                consonant = false
            } else if c == y {
                consonant = k == 0 ? true : !previousIsConsonant
            } else {
                consonant = true
            }
            if consonant && !previousIsConsonant { count += 1 }
            previousIsConsonant = consonant
        }
        return count
    }

    /// NLTK `_contains_vowel` on w[0..<n].
    private static func containsVowel(_ w: [UInt8], _ n: Int) -> Bool {
        var previousIsConsonant = true
        for k in 0..<n {
            let c = w[k]
            let consonant = isVowelLetter(c) ? false : (c == y ? (k == 0 ? true : !previousIsConsonant) : true)
            if !consonant { return true }
            previousIsConsonant = consonant
        }
        return false
    }

    /// NLTK `_ends_double_consonant` (*d) on w[0..<n].
    private static func endsDoubleConsonant(_ w: [UInt8], _ n: Int) -> Bool {
        n >= 2 && w[n - 1] == w[n - 2] && isConsonant(w, n - 1)
    }

    /// NLTK `_ends_cvc` (*o) on w[0..<n], with NLTK's two-letter vowel-consonant extension
    /// (which, unlike the three-letter case, does not exclude w, x and y).
    private static func endsCVC(_ w: [UInt8], _ n: Int) -> Bool {
        if n >= 3 && isConsonant(w, n - 3) && !isConsonant(w, n - 2) && isConsonant(w, n - 1) {
            let last = w[n - 1]
            if last != UInt8(ascii: "w") && last != UInt8(ascii: "x") && last != y { return true }
        }
        return n == 2 && !isConsonant(w, 0) && isConsonant(w, 1)
    }

    private static func endsWith(_ w: [UInt8], _ suffix: [UInt8]) -> Bool {
        guard w.count >= suffix.count else { return false }
        let start = w.count - suffix.count
        for k in 0..<suffix.count where w[start + k] != suffix[k] { return false }
        return true
    }

    private static func prefix(_ w: [UInt8], _ n: Int, plus tail: [UInt8] = []) -> [UInt8] {
        Array(w[0..<n]) + tail
    }

    // MARK: Rule lists

    /// The condition of a rule, evaluated on the word `w` and the length `n` of its stem.
    private enum Condition {
        case always
        case measureAbove0
        case measureAbove1
        /// Step 4 `ion`: m > 1 and the stem ends in s or t.
        case measureAbove1AndEndsInSOrT
        /// Step 1c (NLTK): the stem has more than one letter and ends in a consonant.
        case longerThanOneAndEndsInConsonant
        /// Step 2 `logi` (NLTK): m > 0 of the word minus "ogi", i.e. the stem plus its "l".
        case measureAbove0KeepingL
        /// Step 5b `ll`: m > 1 of the word minus its last letter.
        case measureAbove1OfWordWithoutLastLetter

        func holds(_ w: [UInt8], stemLength n: Int) -> Bool {
            switch self {
            case .always: return true
            case .measureAbove0: return PorterStemmer.measure(w, n) > 0
            case .measureAbove1: return PorterStemmer.measure(w, n) > 1
            case .measureAbove1AndEndsInSOrT:
                return PorterStemmer.measure(w, n) > 1 && (w[n - 1] == UInt8(ascii: "s") || w[n - 1] == UInt8(ascii: "t"))
            case .longerThanOneAndEndsInConsonant: return n > 1 && PorterStemmer.isConsonant(w, n - 1)
            case .measureAbove0KeepingL: return PorterStemmer.measure(w, n + 1) > 0
            case .measureAbove1OfWordWithoutLastLetter: return PorterStemmer.measure(w, w.count - 1) > 1
            }
        }
    }

    private struct Rule {
        var suffix: [UInt8]
        var replacement: [UInt8]
        var condition: Condition
        init(_ suffix: String, _ replacement: String, _ condition: Condition) {
            self.suffix = Array(suffix.utf8)
            self.replacement = Array(replacement.utf8)
            self.condition = condition
        }
    }

    /// NLTK `_apply_rule_list` (without the `*d` pseudo-suffix, which only step 1b uses and which
    /// `step1b` handles itself): the first rule whose suffix matches decides.
    private static func apply(_ rules: [Rule], to w: [UInt8]) -> [UInt8] {
        for rule in rules where endsWith(w, rule.suffix) {
            let n = w.count - rule.suffix.count
            return rule.condition.holds(w, stemLength: n) ? prefix(w, n, plus: rule.replacement) : w
        }
        return w
    }

    private static let irregularForms: [[UInt8]: [UInt8]] = {
        let forms: [(String, [String])] = [
            ("sky", ["sky", "skies"]), ("die", ["dying"]), ("lie", ["lying"]), ("tie", ["tying"]),
            ("news", ["news"]), ("inning", ["innings", "inning"]), ("outing", ["outings", "outing"]),
            ("canning", ["cannings", "canning"]), ("howe", ["howe"]), ("proceed", ["proceed"]),
            ("exceed", ["exceed"]), ("succeed", ["succeed"]),
        ]
        var table: [[UInt8]: [UInt8]] = [:]
        for (stem, words) in forms { for word in words { table[Array(word.utf8)] = Array(stem.utf8) } }
        return table
    }()

    // MARK: Steps

    private enum Suffix {
        static let ies = Array("ies".utf8), ie = Array("ie".utf8), i = Array("i".utf8), ied = Array("ied".utf8)
        static let eed = Array("eed".utf8), ee = Array("ee".utf8), ed = Array("ed".utf8), ing = Array("ing".utf8)
        static let at = Array("at".utf8), bl = Array("bl".utf8), iz = Array("iz".utf8)
        static let alli = Array("alli".utf8), al = Array("al".utf8)
    }

    private static let step1aRules = [
        Rule("sses", "ss", .always), Rule("ies", "i", .always), Rule("ss", "ss", .always), Rule("s", "", .always),
    ]

    private static func step1a(_ w: [UInt8]) -> [UInt8] {
        // NLTK: 'dies' -> 'die' (but 'flies' -> 'fli').
        if w.count == 4 && endsWith(w, Suffix.ies) { return prefix(w, 1, plus: Suffix.ie) }
        return apply(step1aRules, to: w)
    }

    private static func step1b(_ w: [UInt8]) -> [UInt8] {
        // NLTK: 'died' -> 'die', 'spied' -> 'spi'.
        if endsWith(w, Suffix.ied) {
            return prefix(w, w.count - 3, plus: w.count == 4 ? Suffix.ie : Suffix.i)
        }
        if endsWith(w, Suffix.eed) {
            let n = w.count - 3
            return measure(w, n) > 0 ? prefix(w, n, plus: Suffix.ee) : w
        }
        var stemLength = -1
        for suffix in [Suffix.ed, Suffix.ing] where endsWith(w, suffix) {
            let n = w.count - suffix.count
            if containsVowel(w, n) {
                stemLength = n
                break
            }
        }
        if stemLength < 0 { return w }
        let s = prefix(w, stemLength)
        // AT -> ATE, BL -> BLE, IZ -> IZE
        for tail in [Suffix.at, Suffix.bl, Suffix.iz] where endsWith(s, tail) { return s + [e] }
        // (*d and not (*L or *S or *Z)) -> single letter; a double l, s or z ends the step.
        if endsDoubleConsonant(s, s.count) {
            let last = s[s.count - 1]
            if last == UInt8(ascii: "l") || last == UInt8(ascii: "s") || last == UInt8(ascii: "z") { return s }
            return prefix(s, s.count - 1)
        }
        // (m=1 and *o) -> E
        return measure(s, s.count) == 1 && endsCVC(s, s.count) ? s + [e] : s
    }

    private static let step1cRules = [Rule("y", "i", .longerThanOneAndEndsInConsonant)]

    private static func step1c(_ w: [UInt8]) -> [UInt8] { apply(step1cRules, to: w) }

    private static let step2Rules: [Rule] = [
        Rule("ational", "ate", .measureAbove0), Rule("tional", "tion", .measureAbove0),
        Rule("enci", "ence", .measureAbove0), Rule("anci", "ance", .measureAbove0),
        Rule("izer", "ize", .measureAbove0), Rule("bli", "ble", .measureAbove0),
        Rule("alli", "al", .measureAbove0), Rule("entli", "ent", .measureAbove0),
        Rule("eli", "e", .measureAbove0), Rule("ousli", "ous", .measureAbove0),
        Rule("ization", "ize", .measureAbove0), Rule("ation", "ate", .measureAbove0),
        Rule("ator", "ate", .measureAbove0), Rule("alism", "al", .measureAbove0),
        Rule("iveness", "ive", .measureAbove0), Rule("fulness", "ful", .measureAbove0),
        Rule("ousness", "ous", .measureAbove0), Rule("aliti", "al", .measureAbove0),
        Rule("iviti", "ive", .measureAbove0), Rule("biliti", "ble", .measureAbove0),
        Rule("fulli", "ful", .measureAbove0), Rule("logi", "log", .measureAbove0KeepingL),
    ]

    private static func step2(_ w: [UInt8]) -> [UInt8] {
        // NLTK applies ALLI -> AL first and, when it fires, runs step 2 again on the result.
        if endsWith(w, Suffix.alli) && measure(w, w.count - 4) > 0 {
            return step2(prefix(w, w.count - 4, plus: Suffix.al))
        }
        return apply(step2Rules, to: w)
    }

    private static let step3Rules: [Rule] = [
        Rule("icate", "ic", .measureAbove0), Rule("ative", "", .measureAbove0), Rule("alize", "al", .measureAbove0),
        Rule("iciti", "ic", .measureAbove0), Rule("ical", "ic", .measureAbove0), Rule("ful", "", .measureAbove0),
        Rule("ness", "", .measureAbove0),
    ]

    private static func step3(_ w: [UInt8]) -> [UInt8] { apply(step3Rules, to: w) }

    private static let step4Rules: [Rule] = [
        "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou", "ism", "ate",
        "iti", "ous", "ive", "ize",
    ].map { Rule($0, "", $0 == "ion" ? .measureAbove1AndEndsInSOrT : .measureAbove1) }

    private static func step4(_ w: [UInt8]) -> [UInt8] { apply(step4Rules, to: w) }

    /// Both rules of step 5a are tried (unlike a rule list): (m>1) E -> ; (m=1 and not *o) E -> .
    private static func step5a(_ w: [UInt8]) -> [UInt8] {
        guard w.last == e else { return w }
        let n = w.count - 1
        let m = measure(w, n)
        if m > 1 || (m == 1 && !endsCVC(w, n)) { return prefix(w, n) }
        return w
    }

    private static let step5bRules = [Rule("ll", "l", .measureAbove1OfWordWithoutLastLetter)]

    private static func step5b(_ w: [UInt8]) -> [UInt8] { apply(step5bRules, to: w) }
}
