package dev.oranc.common.nix.nar;

import static dev.oranc.common.nix.nar.NarTree.dir;
import static dev.oranc.common.nix.nar.NarTree.executable;
import static dev.oranc.common.nix.nar.NarTree.file;
import static dev.oranc.common.nix.nar.NarTree.link;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.provider.Arguments;

/** Trees the writer tests share: edge cases of the format, of names and of buffer boundaries. */
final class NarTreeCases {

  /** A name whose UTF-8 bytes sort differently from its UTF-16 units, against U+FB01. */
  static final String EMOJI = "\uD83D\uDE00";

  static final String LIGATURE = "\uFB01";

  private NarTreeCases() {}

  static List<Arguments> all() {
    List<Arguments> cases = new ArrayList<>();
    cases.add(Arguments.of("empty directory", dir()));
    cases.add(Arguments.of("empty file", file("")));
    cases.add(Arguments.of("executable root", executable("#!/bin/sh\nexit 0\n")));
    cases.add(Arguments.of("symlink root", link("/nix/store/some-where")));
    cases.add(
        Arguments.of("sizes around multiples of 8", sizes(0, 1, 7, 8, 9, 15, 16, 17, 63, 64)));
    cases.add(
        Arguments.of(
            "sizes around buffer boundaries",
            sizes(4095, 4096, 4097, 5003, 131071, 131072, 131073, 300007)));
    cases.add(
        Arguments.of(
            "only the owner's execute bit counts",
            dir(
                "u-x", new NarTree.File(bytes(3), 0744),
                "u-x-only", new NarTree.File(bytes(4), 0700),
                "u-rx", new NarTree.File(bytes(5), 0500),
                "go-x", new NarTree.File(bytes(6), 0611),
                "go-x-too", new NarTree.File(bytes(7), 0655),
                "none", new NarTree.File(bytes(8), 0600),
                "all", new NarTree.File(bytes(9), 0777))));
    cases.add(
        Arguments.of(
            "nested directories",
            dir(
                "a", dir("b", dir("c", dir("d", file("deep"), "e", dir()))),
                "a.b", file("dot"),
                "a-b", file("dash"),
                "a0", dir("x", link("../a.b")),
                "A", dir())));
    cases.add(
        Arguments.of(
            "byte order is not UTF-16 order",
            dir(
                "z",
                file("z"),
                EMOJI,
                file("emoji"),
                LIGATURE,
                file("ligature"),
                "a",
                file("a"),
                "\u00e9",
                file("e acute"),
                "\u00ff",
                file("y diaeresis"),
                "\u0100",
                file("A macron"),
                "Z",
                file("Z"),
                "_",
                file("underscore"),
                "\uFFFD",
                file("replacement character"),
                "\uD83D\uDE00\uFB01",
                dir(EMOJI, file(""), LIGATURE, file(""), "~", file("")))));
    cases.add(
        Arguments.of(
            "unusual names",
            dir(
                " space",
                file("1"),
                "new\nline",
                file("2"),
                "-dash",
                file("3"),
                ".hidden",
                file("4"),
                "...",
                file("5"),
                "back\\slash",
                file("6"),
                "star*?[",
                file("7"),
                "x".repeat(255),
                file("8"),
                "\u00e9".repeat(127),
                file("9"))));
    cases.add(
        Arguments.of(
            "symlinks",
            dir(
                "absolute", link("/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep/bin/x"),
                "relative", link("../../up"),
                "dangling", link("does-not-exist"),
                "to-dir", link("dir"),
                "dir", dir("f", file("in dir")),
                "spaces", link("a b c"),
                "unicode", link("\u00e9/" + EMOJI),
                "long", link("0123456789abcdef/".repeat(239) + "end"),
                "self", link("self"))));
    cases.add(Arguments.of("deep", deep(60)));
    cases.add(Arguments.of("wide", wide(2000)));
    cases.add(Arguments.of("random 1", random(1)));
    cases.add(Arguments.of("random 2", random(2)));
    cases.add(Arguments.of("random 3", random(3)));
    return cases;
  }

  static byte[] bytes(int size) {
    byte[] bytes = new byte[size];
    new Random(size).nextBytes(bytes);
    return bytes;
  }

  private static NarTree sizes(int... sizes) {
    List<Object> entries = new ArrayList<>();
    for (int size : sizes) {
      entries.add("size-" + size);
      entries.add(file(bytes(size)));
    }
    return dir(entries.toArray());
  }

  private static NarTree deep(int levels) {
    NarTree tree = file("bottom");
    for (int i = levels; i > 0; i--) {
      tree = dir("d" + i, tree, "f" + i, file(Integer.toString(i)));
    }
    return tree;
  }

  private static NarTree wide(int count) {
    Random random = new Random(count);
    List<Object> entries = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      entries.add(Long.toString(random.nextLong() & Long.MAX_VALUE, 36) + "-" + i);
      entries.add(file(Integer.toString(i)));
    }
    return dir(entries.toArray());
  }

  private static final String[] NAME_PARTS = {
    "a", "B", "z", "0", "-", ".", "_", "+", "=", "\u00e9", "\u00ff", LIGATURE, EMOJI, "\u4e2d", "~"
  };

  /** A random tree of depth up to 4, with files of up to 20 000 bytes, some executable. */
  private static NarTree random(long seed) {
    return randomDir(new Random(seed), 4);
  }

  private static NarTree randomDir(Random random, int depth) {
    List<Object> entries = new ArrayList<>();
    int count = random.nextInt(8);
    List<String> names = new ArrayList<>();
    while (names.size() < count) {
      StringBuilder name = new StringBuilder();
      for (int i = 0, n = 1 + random.nextInt(5); i < n; i++) {
        name.append(NAME_PARTS[random.nextInt(NAME_PARTS.length)]);
      }
      String s = name.toString();
      if (!s.equals(".") && !s.equals("..") && !names.contains(s)) {
        names.add(s);
      }
    }
    for (String name : names) {
      entries.add(name);
      int kind = random.nextInt(10);
      if (kind < 2 && depth > 0) {
        entries.add(randomDir(random, depth - 1));
      } else if (kind < 3) {
        entries.add(link(names.get(random.nextInt(names.size()))));
      } else {
        byte[] contents = new byte[random.nextInt(random.nextBoolean() ? 20 : 20_000)];
        random.nextBytes(contents);
        entries.add(new NarTree.File(contents, random.nextBoolean() ? 0755 : 0644));
      }
    }
    return dir(entries.toArray());
  }
}
