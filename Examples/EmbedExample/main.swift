import Pipeline

// EmbedExample VIDEO MODEL: the rows of a video (or a cropped_aligned folder) with the model in folder MODEL.
let model = try EmotionModel(folder: CommandLine.arguments[2])    // tsav.safetensors + head_<name>.safetensors
let session = try Session(model: model, threads: 2)               // loaded once; run as many inputs as you like
let input = try session.open(CommandLine.arguments[1])            // decodes lazily; faces found as frames come
let summary = try session.run(input) { row in
    print(row.frame, row.time, row.face, row.valence, row.arousal)
}
print("\(summary.frames) frames, \(summary.framesWithFace) with a face")
