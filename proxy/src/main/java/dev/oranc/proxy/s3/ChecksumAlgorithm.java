package dev.oranc.proxy.s3;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import java.util.zip.Checksum;

/**
 * The checksums S3 clients send with a body ({@code x-amz-checksum-*} as a header or in an
 * aws-chunked trailer, value: base64 of the big-endian checksum), and the two older ones, {@code
 * Content-MD5} and a hex {@code x-amz-content-sha256}.
 */
public enum ChecksumAlgorithm {
  CRC32("x-amz-checksum-crc32"),
  CRC32C("x-amz-checksum-crc32c"),
  CRC64NVME("x-amz-checksum-crc64nvme"),
  SHA1("x-amz-checksum-sha1"),
  SHA256("x-amz-checksum-sha256"),
  MD5("content-md5");

  private final String header;

  ChecksumAlgorithm(String header) {
    this.header = header;
  }

  /** The header (or trailer field) that carries it, lower case. */
  public String header() {
    return header;
  }

  /** The algorithm of an {@code x-amz-checksum-*} field name; null when it is not one of these. */
  public static ChecksumAlgorithm ofField(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    for (ChecksumAlgorithm a : values()) {
      if (a != MD5 && a.header.equals(n)) {
        return a;
      }
    }
    return null;
  }

  /** A running checksum. */
  public interface Sum {
    void update(ByteBuffer bytes);

    /** The checksum's bytes, big-endian; ends the sum. */
    byte[] value();
  }

  public Sum newSum() {
    return switch (this) {
      case CRC32 -> crc(new CRC32());
      case CRC32C -> crc(new CRC32C());
      case CRC64NVME -> new Crc64Nvme();
      case SHA1 -> digest("SHA-1");
      case SHA256 -> digest("SHA-256");
      case MD5 -> digest("MD5");
    };
  }

  private static Sum crc(Checksum c) {
    return new Sum() {
      @Override
      public void update(ByteBuffer bytes) {
        c.update(bytes);
      }

      @Override
      public byte[] value() {
        long v = c.getValue();
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
      }
    };
  }

  private static Sum digest(String name) {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance(name);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has " + name, e);
    }
    return new Sum() {
      @Override
      public void update(ByteBuffer bytes) {
        md.update(bytes);
      }

      @Override
      public byte[] value() {
        return md.digest();
      }
    };
  }

  /**
   * CRC-64/NVME (reflected, polynomial 0xad93d23594c93659, initial and final value all ones): the
   * check value of "123456789" is 0xae8b14860a799888.
   */
  static final class Crc64Nvme implements Sum {
    private static final long POLY_REFLECTED = 0x9a6c9329ac4bc9b5L;
    private static final long[] TABLE = new long[256];

    static {
      for (int i = 0; i < 256; i++) {
        long crc = i;
        for (int k = 0; k < 8; k++) {
          crc = (crc & 1) != 0 ? (crc >>> 1) ^ POLY_REFLECTED : crc >>> 1;
        }
        TABLE[i] = crc;
      }
    }

    private long crc = -1L;

    @Override
    public void update(ByteBuffer bytes) {
      long c = crc;
      while (bytes.hasRemaining()) {
        c = TABLE[(int) ((c ^ bytes.get()) & 0xff)] ^ (c >>> 8);
      }
      crc = c;
    }

    @Override
    public byte[] value() {
      long v = ~crc;
      byte[] out = new byte[8];
      for (int i = 0; i < 8; i++) {
        out[i] = (byte) (v >>> (56 - 8 * i));
      }
      return out;
    }
  }
}
