#ifndef EMOPIPE_CTURBOJPEG_SHIM_H
#define EMOPIPE_CTURBOJPEG_SHIM_H
/* libjpeg-turbo's TurboJPEG API (Debian libturbojpeg0-dev): the JPEG decoder PIL uses, for the official protocol's
   crop decoding (accurate integer IDCT, fancy upsampling). */
#include <stddef.h>
#include <turbojpeg.h>
#endif
