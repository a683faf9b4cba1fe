import CTurboJPEG
import Foundation

/// Decodes a JPEG crop exactly as the official loaders do (`datasets/dataset_test.py`, `load_vis_data`:
/// `np.array(Image.open(path))`): PIL decodes with libjpeg(-turbo) at its defaults — accurate integer IDCT
/// (`JDCT_ISLOW`), fancy (triangle-filter) chroma upsampling, libjpeg's own YCbCr → RGB — so the same library called
/// with the same settings gives the same pixels, bit for bit (tested against PIL's pixels of the fixture crops).
/// FFmpeg's mjpeg decoder + swscale (`decodeImage`) differs from it by up to 9 levels on the fixture's crops.
///
/// Only three-component (YCbCr or RGB) JPEGs make an RGB image: PIL turns a greyscale JPEG into one channel and a
/// CMYK one into four, which the official loader cannot store in its 112×112×3 array, so it leaves that frame black.
/// Those throw `MediaError(.decodeFailed)` with the reason; callers treat the frame as having no face.
public func decodeJPEGAsPIL(path: String) throws -> RGBImage {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw MediaError(FileManager.default.fileExists(atPath: path) ? .decodeFailed : .notFound, path,
                         FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
    }
    return try decodeJPEGAsPIL(bytes: [UInt8](data), path: path)
}

/// The same, from the bytes of a JPEG file (`path` only names it in errors).
public func decodeJPEGAsPIL(bytes: [UInt8], path: String) throws -> RGBImage {
    guard let handle = tjInitDecompress() else { throw MediaError(.decodeFailed, path, "cannot start libjpeg-turbo") }
    defer { tjDestroy(handle) }
    func failure(_ what: String) -> MediaError {
        MediaError(.decodeFailed, path, "\(what) (\(String(cString: tjGetErrorStr2(handle))))")
    }
    var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
    let header = bytes.withUnsafeBufferPointer {
        tjDecompressHeader3(handle, $0.baseAddress, UInt($0.count), &width, &height, &subsampling, &colorspace)
    }
    guard header == 0 else { throw failure("is not a JPEG file libjpeg-turbo can read") }
    guard width > 0, height > 0, Int(width) * Int(height) <= 1 << 28 else { throw failure("has an unusable size \(width)×\(height)") }
    switch Int(colorspace) {
    case Int(TJCS_YCbCr.rawValue), Int(TJCS_RGB.rawValue): break
    case Int(TJCS_GRAY.rawValue):
        throw MediaError(.decodeFailed, path, "is a greyscale JPEG (one channel; the official loader leaves such a frame black)")
    default:
        throw MediaError(.decodeFailed, path, "is a CMYK/YCCK JPEG (four channels; the official loader leaves such a frame black)")
    }
    var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
    let flags = Int32(TJFLAG_ACCURATEDCT)   // JDCT_ISLOW; fancy upsampling stays on (no TJFLAG_FASTUPSAMPLE)
    let r = bytes.withUnsafeBufferPointer { src in
        pixels.withUnsafeMutableBufferPointer { dst in
            tjDecompress2(handle, src.baseAddress, UInt(src.count), dst.baseAddress, width, 0, height,
                          Int32(TJPF_RGB.rawValue), flags)
        }
    }
    // libjpeg-turbo reports warnings as failures with code TJERR_WARNING and the image decoded anyway. PIL ignores
    // libjpeg's warnings (extraneous bytes, …) but raises "image file is truncated" when the data ends early, and the
    // official loader then leaves the frame black: a warning is accepted only when the file ends with its EOI marker.
    if r != 0 {
        let endsWithEOI = bytes.count >= 2 && bytes[bytes.count - 2] == 0xFF && bytes[bytes.count - 1] == 0xD9
        guard tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue), endsWithEOI else {
            throw failure(endsWithEOI ? "cannot be decoded" : "is truncated")
        }
    }
    return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
}
