package dev.oranc.cli;

import dev.oranc.common.error.ConfigCheck;
import picocli.CommandLine.Option;

/** {@code --upload-chunk-size}, wherever blobs are uploaded (server and push). */
final class UploadOptions {

  @Option(
      names = "--upload-chunk-size",
      paramLabel = "SIZE",
      defaultValue = "4MiB",
      converter = Converters.Size.class,
      description =
          "Largest PATCH body of a blob upload; a larger blob goes up in several. ghcr.io refuses"
              + " more than 4 MiB. 0 sends each blob in one PATCH however large, streamed as it"
              + " comes, which the CNCF registry and Harbor accept: faster, and nothing is gathered"
              + " in memory. Default: ${DEFAULT-VALUE}.")
  long uploadChunkSize;

  /** {@code --upload-chunk-size} as the client takes it: 0, or 64 KiB up to 1 GiB. */
  int chunkBytes() {
    ConfigCheck.require(
        uploadChunkSize == 0 || (uploadChunkSize >= 64 * 1024 && uploadChunkSize <= (1 << 30)),
        "--upload-chunk-size",
        uploadChunkSize + " bytes",
        "0 for one PATCH per blob, or 64KiB to 1GiB");
    return (int) uploadChunkSize;
  }
}
