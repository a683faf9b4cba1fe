import CFFTW
import Foundation
import Kernels

/// Errors of the audio front end, each naming what was wrong and what to do.
public struct AudioError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The TSAV audio front end: torchaudio `MelSpectrogram(sample_rate 44100, n_fft 1024, win_length 882, hop 441,
/// n_mels 64, window_fn=torch.hann_window, power 2)` followed by `AmplitudeToDB('power', top_db=80)` and the fixed
/// normalisation `(dB + 14.8) / 19.895`, reproduced exactly (see docs/audio.md for every step).
///
/// One instance is a workspace: FFTW buffers and a power-spectrum scratch row, allocated once. It is not thread-safe;
/// give each thread or task its own instance (creating one is cheap; the FFTW plan is shared). After construction,
/// `compute(_:into:)` allocates nothing.
public final class MelSpectrogram {
    public static let sampleRate = 44100
    public static let fftSize = 1024
    public static let windowLength = 882
    public static let hopLength = 441
    public static let melBands = 64
    /// One-sided spectrum size, n_fft/2 + 1.
    public static let frequencyBins = fftSize / 2 + 1
    /// Zeros on each side of the 882-sample Hann window inside the 1024-point frame ((1024 − 882) / 2).
    public static let windowOffset = (fftSize - windowLength) / 2
    /// Reflect padding on each side (center=True): n_fft / 2.
    public static let centerPadding = fftSize / 2
    /// Reflect padding needs more samples than the padding (torch refuses otherwise).
    public static let minimumSamples = centerPadding + 1

    /// Power floor before the logarithm, the dB range kept below each spectrogram's maximum, and the normalisation.
    public static let amin: Float = 1e-10
    public static let topDB: Float = 80
    public static let normalizationMean: Float = -14.8
    public static let normalizationStd: Float = 19.895

    /// Time frames for `n` samples: 1 + ⌊n / 441⌋ (centered framing).
    public static func frameCount(samples n: Int) -> Int { 1 + n / hopLength }

    /// The value every cell of a silent (all-zero) waveform's spectrogram takes: (10·log10(1e-10) + 14.8) / 19.895.
    public static let silentValue: Float = (10 * Float(log10(Double(amin))) - normalizationMean) / normalizationStd

    /// The periodic Hann window of 882 samples, 0.5 − 0.5·cos(2πn/882), as `torch.hann_window(882)`.
    public static let hannWindow: [Float] = (0..<windowLength).map { n in
        Float(0.5 - 0.5 * cos(2.0 * Double.pi * Double(n) / Double(windowLength)))
    }

    /// The HTK mel filterbank (513 bins × 64 filters, no normalisation), built once.
    public static let filterbank = MelFilterbank()

    // Per-instance workspace (FFTW-aligned buffers; the plan's alignment is guaranteed by fftwf_alloc_*).
    private let frame: UnsafeMutablePointer<Float>            // 1024 real samples, zero outside the window
    private let spectrum: UnsafeMutablePointer<fftwf_complex> // 513 complex bins
    private let power: UnsafeMutablePointer<Float>            // 513 power values
    private let window: UnsafeMutablePointer<Float>           // the 882 Hann weights
    private let plan: FFTWPlan

    public init() throws {
        plan = try FFTWPlan.shared()
        guard let f = fftwf_alloc_real(Self.fftSize), let s = fftwf_alloc_complex(Self.frequencyBins),
              let p = fftwf_alloc_real(Self.frequencyBins), let w = fftwf_alloc_real(Self.windowLength) else {
            throw AudioError("MelSpectrogram: fftwf_alloc failed (out of memory)")
        }
        frame = f; spectrum = s; power = p; window = w
        _ = UnsafeMutableBufferPointer(start: w, count: Self.windowLength).initialize(from: Self.hannWindow)
        frame.initialize(repeating: 0, count: Self.fftSize)
        power.initialize(repeating: 0, count: Self.frequencyBins)
    }

    deinit {
        fftwf_free(frame)
        fftwf_free(spectrum)
        fftwf_free(power)
        fftwf_free(window)
    }

    /// Computes the normalized log-mel spectrogram of `samples` (44.1 kHz, at least 513 of them) into `output`,
    /// laid out row-major 64 × T (mel band major, row 0 = lowest band), T = 1 + ⌊N/441⌋.
    /// No padding to 45599 happens here: callers that want the reference's minimum length use `AudioWindow`
    /// or `leftPadded(_:)`.
    public func compute(_ samples: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws {
        let n = samples.count
        guard n >= Self.minimumSamples else {
            throw AudioError("MelSpectrogram: \(n) samples is too short for reflect padding of \(Self.centerPadding); "
                             + "pass at least \(Self.minimumSamples) (the pipeline left-pads windows to \(AudioWindow.minimumLength))")
        }
        let frames = Self.frameCount(samples: n)
        precondition(output.count == Self.melBands * frames,
                     "MelSpectrogram: output holds \(output.count) values, needs 64 × \(frames)")
        guard let x = samples.baseAddress, let out = output.baseAddress else { return }

        var maxPower: Float = 0
        for t in 0..<frames {
            fillFrame(t, x, n)
            fftwf_execute_dft_r2c(plan.plan, frame, spectrum)
            computePower()
            let m = applyFilterbank(column: t, frames: frames, out)
            if m > maxPower { maxPower = m }
        }
        Self.toNormalizedDecibels(out, count: Self.melBands * frames, maxPower: maxPower)
    }

    /// The spectrogram of `samples` as a (1, 64, T) tensor (allocates the tensor; see `compute(_:into:)`).
    public func callAsFunction(_ samples: [Float]) throws -> Tensor {
        let t = Tensor(zeros: [1, Self.melBands, Self.frameCount(samples: samples.count)])
        try samples.withUnsafeBufferPointer { try compute($0, into: t.data) }
        return t
    }

    /// `samples` left-padded with zeros to at least `length` (the reference's treatment of short waveforms).
    public static func leftPadded(_ samples: [Float], to length: Int = AudioWindow.minimumLength) -> [Float] {
        samples.count >= length ? samples : [Float](repeating: 0, count: length - samples.count) + samples
    }

    // MARK: - steps

    /// Frame t covers padded samples [441t, 441t + 1024); the Hann window is non-zero on its middle 882, which are
    /// the original samples [441t − 441, 441t + 441). Outside [0, n) the signal is reflected (x[−i] = x[i],
    /// x[n−1+i] = x[n−1−i]). The 71 zeros at each end of `frame` are never written.
    @inline(__always)
    private func fillFrame(_ t: Int, _ x: UnsafePointer<Float>, _ n: Int) {
        let w = window
        let dst = frame + Self.windowOffset
        let first = t &* Self.hopLength &- (Self.centerPadding &- Self.windowOffset)   // 441t − 441
        let len = Self.windowLength
        if first >= 0 && first &+ len <= n {
            let src = x + first
            for i in 0..<len { dst[i] = src[i] * w[i] }
        } else {
            let last = n &- 1
            for i in 0..<len {
                var j = first &+ i
                if j < 0 { j = -j } else if j > last { j = last &- (j &- last) }
                dst[i] = x[j] * w[i]
            }
        }
    }

    @inline(__always)
    private func computePower() {
        let c = UnsafeMutableRawPointer(spectrum).assumingMemoryBound(to: Float.self)
        for k in 0..<Self.frequencyBins {
            let re = c[2 &* k], im = c[2 &* k &+ 1]
            power[k] = re * re + im * im
        }
    }

    /// out[m, t] = Σ_k fb[k, m] · power[k] over each filter's non-zero bins; returns the largest value written.
    @inline(__always)
    private func applyFilterbank(column t: Int, frames: Int, _ out: UnsafeMutablePointer<Float>) -> Float {
        let fb = Self.filterbank
        var maxValue: Float = 0
        fb.weights.withUnsafeBufferPointer { wts in
            fb.firstBin.withUnsafeBufferPointer { first in
                fb.offset.withUnsafeBufferPointer { off in
                    for m in 0..<Self.melBands {
                        let start = first[m], count = off[m &+ 1] &- off[m]
                        let wp = wts.baseAddress! + off[m]
                        let pp = power + start
                        var s: Float = 0
                        for i in 0..<count { s += wp[i] * pp[i] }
                        out[m &* frames &+ t] = s
                        if s > maxValue { maxValue = s }
                    }
                }
            }
        }
        return maxValue
    }

    /// In place: 10·log10(max(x, 1e-10)), floored at (max − 80 dB), then (x + 14.8) / 19.895, in float32 as torch does.
    private static func toNormalizedDecibels(_ p: UnsafeMutablePointer<Float>, count: Int, maxPower: Float) {
        let maxDB = 10 * log10f(max(maxPower, amin))
        let floorDB = maxDB - topDB
        for i in 0..<count {
            let db = max(10 * log10f(max(p[i], amin)), floorDB)
            p[i] = (db - normalizationMean) / normalizationStd
        }
    }
}

/// torchaudio's `melscale_fbanks(513, f_min 0, f_max 22050, 64, 44100, norm=None, mel_scale="htk")`, stored sparsely:
/// filter m is non-zero exactly on bins firstBin[m] ..< firstBin[m] + (offset[m+1] − offset[m]), with those weights
/// at weights[offset[m] ..< offset[m+1]].
public struct MelFilterbank: Sendable {
    /// Bin frequencies linspace(0, 22050, 513) and the 66 mel-spaced corner frequencies (Hz).
    public let binFrequencies: [Double]
    public let cornerFrequencies: [Double]
    public let firstBin: [Int]
    public let offset: [Int]
    public let weights: [Float]

    public static func hzToMel(_ f: Double) -> Double { 2595 * log10(1 + f / 700) }
    public static func melToHz(_ m: Double) -> Double { 700 * (pow(10, m / 2595) - 1) }

    init() {
        let bins = MelSpectrogram.frequencyBins, bands = MelSpectrogram.melBands
        let nyquist = Double(MelSpectrogram.sampleRate / 2)
        let freqs = (0..<bins).map { nyquist * Double($0) / Double(bins - 1) }
        let mMin = Self.hzToMel(0), mMax = Self.hzToMel(nyquist)
        let corners = (0..<(bands + 2)).map { Self.melToHz(mMin + (mMax - mMin) * Double($0) / Double(bands + 1)) }
        var first = [Int](), off = [0], w = [Float]()
        for m in 0..<bands {
            let lo = corners[m], mid = corners[m + 1], hi = corners[m + 2]
            // A triangle is positive on one open interval of frequencies, so its non-zero bins are contiguous.
            let support = (0..<bins).filter { k in
                let f = freqs[k]
                return min((f - lo) / (mid - lo), (hi - f) / (hi - mid)) > 0
            }
            first.append(support.first ?? 0)
            for k in support {
                let f = freqs[k]
                w.append(Float(min((f - lo) / (mid - lo), (hi - f) / (hi - mid))))
            }
            off.append(w.count)
        }
        binFrequencies = freqs
        cornerFrequencies = corners
        firstBin = first
        offset = off
        weights = w
    }

    /// The dense weight fb[bin, filter] (0 outside the filter's support).
    public func weight(bin k: Int, filter m: Int) -> Float {
        let i = k - firstBin[m]
        return i >= 0 && i < offset[m + 1] - offset[m] ? weights[offset[m] + i] : 0
    }
}

/// The one FFTW plan (1024-point real-to-complex, single precision), made once under `FFTWPlanner.lock`.
/// Executing a plan with new arrays (`fftwf_execute_dft_r2c`) is thread-safe; planning is not.
final class FFTWPlan: @unchecked Sendable {
    let plan: fftwf_plan

    private init(plan: fftwf_plan) { self.plan = plan }

    private static let made: Result<FFTWPlan, AudioError> = FFTWPlanner.withLock {
        // FFTW_ESTIMATE: deterministic (no timing-dependent algorithm choice), so results repeat bit for bit.
        guard let input = fftwf_alloc_real(MelSpectrogram.fftSize),
              let output = fftwf_alloc_complex(MelSpectrogram.frequencyBins) else {
            return .failure(AudioError("FFTW: fftwf_alloc failed while planning (out of memory)"))
        }
        // The planning arrays only fix alignment and in/out-of-place: the plan is only ever run through new-array
        // execute (fftwf_execute_dft_r2c) on each workspace's own fftwf_alloc'd buffers, so these can go.
        defer { fftwf_free(input); fftwf_free(output) }
        guard let p = fftwf_plan_dft_r2c_1d(Int32(MelSpectrogram.fftSize), input, output, UInt32(FFTW_ESTIMATE)) else {
            return .failure(AudioError("FFTW: fftwf_plan_dft_r2c_1d(1024) returned NULL"))
        }
        return .success(FFTWPlan(plan: p))
    }

    static func shared() throws -> FFTWPlan { try made.get() }
}

/// The process-wide lock around FFTW's planner (fftwf_plan_*, fftwf_destroy_plan), which is not thread-safe.
/// Any code in emopipe that makes or destroys FFTW plans must do so inside `FFTWPlanner.withLock`.
public enum FFTWPlanner {
    private static let lock = NSLock()

    public static func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
