// The Checkpoint module of emopipe: reading `torch.save` files natively and converting them to safetensors.
// Its parts live in the files beside this one:
//   ZipReader.swift         the zip container of PyTorch ≥ 1.6 checkpoints (stored entries, ZIP64, CRC-32)
//   Pickle.swift            a restricted unpickler: plain data and tensor descriptions only, bounded
//   TorchCheckpoint.swift   both torch.save formats (zip, legacy); tensors copied out of their storages
//   StateDict.swift         finding the state dict (state_dict / net / bare), flattening, `module.` prefixes
//   WeightsConversion.swift kinds, the official key lists (from Models), checks, and writing the safetensors file
//   (Kernels/SHA256.swift:  the source file's digest recorded in the output metadata)
// User documentation: docs/weights.md.
