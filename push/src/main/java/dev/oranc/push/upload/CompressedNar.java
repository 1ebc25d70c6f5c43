package dev.oranc.push.upload;

import dev.oranc.common.nix.hash.NixHash;

/**
 * What compressing a NAR found out.
 *
 * @param narHash the SHA-256 of the NAR as serialised, checked against the database
 * @param narSize its size
 * @param fileSize the size of the zstd file
 */
public record CompressedNar(NixHash narHash, long narSize, long fileSize) {}
