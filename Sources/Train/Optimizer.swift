import Foundation

/// Learning rate per step: linear warm-up to the peak, then cosine decay to `minimumRatio` · peak.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public var peak: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    public var minimumRatio: Double

    public init(peak: Double, warmupSteps: Int, totalSteps: Int, minimumRatio: Double = 0.1) {
        self.peak = peak; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps; self.minimumRatio = minimumRatio
    }

    /// The rate of 0-based step s.
    public func rate(step s: Int) -> Double {
        if s < warmupSteps { return peak * Double(s + 1) / Double(warmupSteps) }
        let floor = peak * minimumRatio
        let progress = min(1, Double(s - warmupSteps) / Double(max(1, totalSteps - warmupSteps)))
        return floor + 0.5 * (peak - floor) * (1 + cos(Double.pi * progress))
    }
}

/// AdamW as torch.optim.AdamW computes it (decoupled weight decay on matrices only), after
/// clipping the gradients' global norm as torch.nn.utils.clip_grad_norm_.
public struct AdamW: Sendable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0.1
    /// Clip the global gradient norm to this (0: no clipping).
    public var maxGradientNorm: Float = 1

    public init(beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8, weightDecay: Float = 0.1, maxGradientNorm: Float = 1) {
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.weightDecay = weightDecay; self.maxGradientNorm = maxGradientNorm
    }

    /// The moments, in the parameters' layout, and how many updates they have seen.
    public struct State: Equatable, Sendable {
        public var step: Int
        public var first: [Float]
        public var second: [Float]
        public init(count: Int) { step = 0; first = .init(repeating: 0, count: count); second = first }
    }

    /// √Σg² over every gradient, summed in double.
    public static func norm(_ g: [Float]) -> Double {
        var sum = 0.0
        for x in g { sum += Double(x) * Double(x) }
        return sum.squareRoot()
    }

    /// Clips `gradients` and applies one update with learning rate `rate`; returns the norm
    /// before clipping.
    @discardableResult
    public func update(parameters: inout [Float], gradients: inout [Float], state: inout State, layout: ParameterLayout, rate: Double) -> Double {
        let norm = Self.norm(gradients)
        if maxGradientNorm > 0 {
            let coefficient = Double(maxGradientNorm) / (norm + 1e-6)
            if coefficient < 1 {
                let c = Float(coefficient)
                for i in gradients.indices { gradients[i] *= c }
            }
        }
        state.step += 1
        let t = Double(state.step)
        let correction1 = 1 - pow(Double(beta1), t), correction2 = 1 - pow(Double(beta2), t)
        let stepSize = Float(rate / correction1), root2 = Float(correction2.squareRoot())
        let lr = Float(rate)
        let b1 = beta1, b2 = beta2, eps = epsilon
        parameters.withUnsafeMutableBufferPointer { p in
            gradients.withUnsafeBufferPointer { g in
                state.first.withUnsafeMutableBufferPointer { m in
                    state.second.withUnsafeMutableBufferPointer { v in
                        for e in layout.entries {
                            let decay = e.isMatrix ? 1 - lr * weightDecay : 1
                            for i in e.offset..<(e.offset + e.count) {
                                p[i] *= decay
                                m[i] = b1 * m[i] + (1 - b1) * g[i]
                                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                                p[i] -= stepSize * m[i] / (v[i].squareRoot() / root2 + eps)
                            }
                        }
                    }
                }
            }
        }
        return norm
    }
}
