/**
 * `datasets.packaged_modules._EXTENSION_TO_MODULE` (datasets 5.0.1): which builder a file extension
 * selects. Needed whole because the most common extension among a split's files picks the format,
 * whatever the extension.
 *
 * @module
 */

const byModule: Readonly<Record<string, ReadonlyArray<string>>> = {
  "csv": [".csv", ".tsv"],
  "json": [".json", ".jsonl", ".ndjson"],
  "parquet": [".parquet", ".geoparquet", ".gpq"],
  "arrow": [".arrow"],
  "text": [".txt"],
  "conll": [".conll", ".conllu"],
  "webdataset": [".tar"],
  "xml": [".xml"],
  "hdf5": [".hdf5", ".h5"],
  "eval": [".eval"],
  "lance": [".lance"],
  "tsfile": [".tsfile"],
  "imagefolder": [".blp", ".bmp", ".dib", ".bufr", ".cur", ".pcx", ".dcx", ".dds", ".ps", ".eps", ".fit", ".fits", ".fli", ".flc", ".ftc", ".ftu", ".gbr", ".gif", ".grib", ".png", ".apng", ".jp2", ".j2k", ".jpc", ".jpf", ".jpx", ".j2c", ".icns", ".ico", ".im", ".iim", ".tif", ".tiff", ".jfif", ".jpe", ".jpg", ".jpeg", ".msp", ".pcd", ".pxr", ".pbm", ".pgm", ".ppm", ".pnm", ".psd", ".bw", ".rgb", ".rgba", ".sgi", ".ras", ".tga", ".icb", ".vda", ".vst", ".webp", ".wmf", ".emf", ".xbm", ".xpm", ".BLP", ".BMP", ".DIB", ".BUFR", ".CUR", ".PCX", ".DCX", ".DDS", ".PS", ".EPS", ".FIT", ".FITS", ".FLI", ".FLC", ".FTC", ".FTU", ".GBR", ".GIF", ".GRIB", ".PNG", ".APNG", ".JP2", ".J2K", ".JPC", ".JPF", ".JPX", ".J2C", ".ICNS", ".ICO", ".IM", ".IIM", ".TIF", ".TIFF", ".JFIF", ".JPE", ".JPG", ".JPEG", ".MSP", ".PCD", ".PXR", ".PBM", ".PGM", ".PPM", ".PNM", ".PSD", ".BW", ".RGB", ".RGBA", ".SGI", ".RAS", ".TGA", ".ICB", ".VDA", ".VST", ".WEBP", ".WMF", ".EMF", ".XBM", ".XPM"],
  "audiofolder": [".mpg", ".MPG", ".aiff", ".au", ".avr", ".caf", ".flac", ".htk", ".svx", ".mat4", ".mat5", ".mpc2k", ".ogg", ".paf", ".pvf", ".raw", ".rf64", ".sd2", ".sds", ".ircam", ".voc", ".w64", ".wav", ".nist", ".wavex", ".wve", ".xi", ".mp3", ".opus", ".3gp", ".3g2", ".asf", ".flv", ".m4v", ".webm", ".f4v", ".wmv", ".wma", ".ogm", ".mxf", ".nut", ".AIFF", ".AU", ".AVR", ".CAF", ".FLAC", ".HTK", ".SVX", ".MAT4", ".MAT5", ".MPC2K", ".OGG", ".PAF", ".PVF", ".RAW", ".RF64", ".SD2", ".SDS", ".IRCAM", ".VOC", ".W64", ".WAV", ".NIST", ".WAVEX", ".WVE", ".XI", ".MP3", ".OPUS", ".3GP", ".3G2", ".ASF", ".FLV", ".M4V", ".WEBM", ".F4V", ".WMV", ".WMA", ".OGM", ".MXF", ".NUT"],
  "videofolder": [".mpeg", ".MPEG", ".avi", ".mp4", ".mov", ".mkv", ".AVI", ".MP4", ".MOV", ".MKV"],
  "meshfolder": [".glb", ".ply", ".stl", ".GLB", ".PLY", ".STL"],
  "pdffolder": [".pdf", ".PDF"],
  "niftifolder": [".nii", ".NII"],
};

/** Extension (with its dot, case as given) → builder name. */
export const EXTENSION_TO_MODULE: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(byModule).flatMap(([module, extensions]) => extensions.map((e) => [e, module] as const)),
);
