import Foundation

extension SplitMix64 {
    /// A standard normal draw by Box–Muller from two 53-bit uniforms:
    /// u1 = (next() >> 11 + 1) / (2^53 + 1) in (0, 1), u2 = (next() >> 11) / 2^53 in [0, 1),
    /// returns √(−2 ln u1) · cos(2π u2).
    public mutating func nextGaussian() -> Double {
        let u1 = (Double(next() >> 11) + 1) / 9_007_199_254_740_993.0
        let u2 = Double(next() >> 11) / 9_007_199_254_740_992.0
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
