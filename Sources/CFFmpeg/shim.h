#ifndef EMOPIPE_CFFMPEG_SHIM_H
#define EMOPIPE_CFFMPEG_SHIM_H
/* FFmpeg 5.1 (Debian 12) headers, plus small wrappers for the macros Swift cannot import:
   function-like macros (AVERROR, MKTAG), cast/compound-literal constants (AV_NOPTS_VALUE,
   AV_TIME_BASE_Q, channel layouts), av_err2str and the variadic av_log. */
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

static const int64_t CFF_AV_NOPTS_VALUE = AV_NOPTS_VALUE;
static const int CFF_AVERROR_EOF = AVERROR_EOF;
static const int CFF_AVERROR_INVALIDDATA = AVERROR_INVALIDDATA;
static const int CFF_AVERROR_DECODER_NOT_FOUND = AVERROR_DECODER_NOT_FOUND;
static const int CFF_AVERROR_EAGAIN = AVERROR(EAGAIN);
static const int CFF_AVERROR_ENOENT = AVERROR(ENOENT);

static inline int cff_averror(int e) { return AVERROR(e); }
static inline AVRational cff_time_base_q(void) { return AV_TIME_BASE_Q; }

/* av_err2str is a macro around a compound literal; this writes into the caller's buffer. */
static inline const char *cff_err2str(int code, char *buf, size_t size) {
    return av_make_error_string(buf, size, code);
}

/* av_log is variadic; Swift passes an already formatted message. */
static inline void cff_log(void *avcl, int level, const char *message) {
    av_log(avcl, level, "%s", message);
}

/* A mono channel layout value (AV_CHANNEL_LAYOUT_MONO is a compound literal). */
static inline AVChannelLayout cff_layout_mono(void) {
    AVChannelLayout l = AV_CHANNEL_LAYOUT_MONO;
    return l;
}

/* AVFrame.data / linesize import as 8-tuples; these index them. */
static inline uint8_t *cff_frame_plane(const AVFrame *f, int i) { return f->data[i]; }
static inline int cff_frame_linesize(const AVFrame *f, int i) { return f->linesize[i]; }
static inline const uint8_t **cff_frame_planes_const(const AVFrame *f) { return (const uint8_t **)f->data; }
static inline uint8_t **cff_frame_planes(AVFrame *f) { return f->data; }
static inline int *cff_frame_linesizes(AVFrame *f) { return f->linesize; }
#endif
