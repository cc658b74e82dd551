/*
 * jpeg_markers.h: the JPEG marker codes (ITU T.81, B.1.1.3) that the
 * readers of a JPEG's segments (exif_read.c, gps_strip.c) look for.
 */
#ifndef BP_JPEG_MARKERS_H
#define BP_JPEG_MARKERS_H

#define JPEG_MARKER 0xff /* every marker starts with it */
#define JPEG_TEM 0x01    /* stand-alone, no length */
#define JPEG_RST0 0xd0   /* RST0..RST7: stand-alone */
#define JPEG_RST7 0xd7
#define JPEG_SOI 0xd8   /* start of image */
#define JPEG_EOI 0xd9   /* end of image */
#define JPEG_SOS 0xda   /* start of scan: entropy-coded data follows */
#define JPEG_APP1 0xe1  /* EXIF and XMP */
#define JPEG_APP13 0xed /* Photoshop resources */

#endif
