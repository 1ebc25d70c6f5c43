package dev.oranc.common.net;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Which addresses the registry client may connect to.
 *
 * <p>Design note. {@code oranc server} connects wherever a request's path (or {@code ?registry=})
 * says, and then wherever that registry sends it: a token realm, redirects, an upload's {@code
 * Location}. Without a policy a client can make the server fetch from its own loopback ports, the
 * host's private network or a cloud metadata endpoint and relay the answer. So the server's policy
 * ({@link #publicOnly}) permits a connection only to a <em>public</em> address, checked after the
 * name is resolved and again on the address actually connected (a name that resolves to something
 * else the second time, DNS rebinding, changes nothing: the check is on the socket's peer). A host
 * named by an explicit {@code --allow-registry} pattern (no wildcard) may connect anywhere: that is
 * how an operator serves a registry on {@code 127.0.0.1:5000}. {@code oranc push} uses {@link
 * #allowAll()}: it talks to the one registry its user named.
 *
 * <p>Not public ({@link #classOf}), for IPv4 and for the IPv4-mapped ({@code ::ffff:a.b.c.d}),
 * IPv4-compatible ({@code ::a.b.c.d}), IPv4-translated ({@code ::ffff:0:a.b.c.d}), NAT64 ({@code
 * 64:ff9b::/96}) and 6to4 ({@code 2002::/16}) IPv6 forms of each, which are classified by the IPv4
 * address they carry: unspecified (0.0.0.0, ::), "this network" 0/8, loopback 127/8 and ::1, RFC
 * 1918, CGNAT 100.64/10, link-local 169.254/16 and fe80::/10, site-local fec0::/10, ULA fc00::/7,
 * multicast 224/4 and ff00::/8, reserved 240/4 (with the broadcast address) and every IPv6 address
 * outside 2000::/3, IETF protocol assignments 192.0.0/24 (NAT64 discovery, DS-Lite), benchmarking
 * 198.18/15 (used inside labs and some clouds), the documentation ranges, and the tunnels whose
 * inner address cannot be checked: Teredo 2001::/32, local-use NAT64 64:ff9b:1::/48, the 6to4 relay
 * 192.88.99/24. No registry lives in any of them.
 *
 * <p>Tests cannot reach a private or public address (they only ever talk to loopback), so a policy
 * takes two test hooks: {@link #withTestName} maps a made-up name to a loopback address (the
 * registry client's resolver asks {@link #testLookup} first), and {@link #withTestClass} makes the
 * policy treat an address as public or private.
 */
public final class AddressPolicy {

  /** What an address is, as far as the policy cares. */
  public enum AddressClass {
    PUBLIC("public"),
    UNSPECIFIED("unspecified"),
    THIS_NETWORK("this-network (0.0.0.0/8)"),
    LOOPBACK("loopback"),
    PRIVATE("private (RFC 1918)"),
    SHARED("shared CGNAT (100.64.0.0/10)"),
    LINK_LOCAL("link-local"),
    SITE_LOCAL("site-local (fec0::/10)"),
    UNIQUE_LOCAL("unique local (fc00::/7)"),
    MULTICAST("multicast"),
    RESERVED("reserved"),
    PROTOCOL_ASSIGNMENTS("IETF protocol assignments (192.0.0.0/24)"),
    BENCHMARKING("benchmarking (198.18.0.0/15)"),
    DOCUMENTATION("documentation"),
    TUNNEL("tunnel (Teredo, local NAT64, 6to4 relay)");

    private final String description;

    AddressClass(String description) {
      this.description = description;
    }

    public boolean isPublic() {
      return this == PUBLIC;
    }

    @Override
    public String toString() {
      return description;
    }
  }

  /** A connection the policy refused: for the log and the metrics, never for a client. */
  public record Refusal(String host, int port, InetAddress address, AddressClass addressClass) {}

  private static final AddressPolicy ALLOW_ALL =
      new AddressPolicy(false, List.of(), Map.of(), Map.of(), r -> {});

  private final boolean enforced;
  private final List<HostPattern> exempt;
  private final Map<String, InetAddress[]> testNames;
  private final Map<InetAddress, AddressClass> testClasses;
  private final Consumer<Refusal> listener;

  private AddressPolicy(
      boolean enforced,
      List<HostPattern> exempt,
      Map<String, InetAddress[]> testNames,
      Map<InetAddress, AddressClass> testClasses,
      Consumer<Refusal> listener) {
    this.enforced = enforced;
    this.exempt = List.copyOf(exempt);
    this.testNames = testNames;
    this.testClasses = testClasses;
    this.listener = listener;
  }

  /** Every address: the registry client's default ({@code oranc push}). */
  public static AddressPolicy allowAll() {
    return ALLOW_ALL;
  }

  /**
   * Public addresses only, except for hosts an explicit (non-wildcard) pattern of {@code allowed}
   * names: the server's policy.
   */
  public static AddressPolicy publicOnly(List<HostPattern> allowed) {
    List<HostPattern> explicit = new ArrayList<>();
    for (HostPattern p : allowed) {
      if (p.isExplicit()) {
        explicit.add(p);
      }
    }
    return new AddressPolicy(true, explicit, Map.of(), Map.of(), r -> {});
  }

  /** False for {@link #allowAll()}. */
  public boolean enforced() {
    return enforced;
  }

  /** True when connections to {@code host:port} are not checked (an explicit allow-list entry). */
  public boolean exempts(String host, int port) {
    if (!enforced) {
      return true;
    }
    for (HostPattern p : exempt) {
      if (p.matches(host, port)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Why a connection to {@code address} for {@code host:port} is refused; empty when it is
   * permitted. Does not notify the listener: {@link #refused} does, once per refused connection.
   */
  public Optional<Refusal> check(String host, int port, InetAddress address) {
    if (exempts(host, port)) {
      return Optional.empty();
    }
    AddressClass c = classify(address);
    return c.isPublic() ? Optional.empty() : Optional.of(new Refusal(host, port, address, c));
  }

  /** Reports a refused connection to the listener ({@link #onRefusal}). */
  public void refused(Refusal refusal) {
    listener.accept(refusal);
  }

  /** The class of {@code address}, after the test overrides. */
  public AddressClass classify(InetAddress address) {
    AddressClass c = testClasses.get(address);
    return c != null ? c : classOf(address);
  }

  /** The addresses a test mapped {@code host} to, or null (then the system resolves it). */
  public InetAddress[] testLookup(String host) {
    if (testNames.isEmpty()) {
      return null;
    }
    InetAddress[] a = testNames.get(HostPattern.normalize(host));
    return a == null ? null : a.clone();
  }

  /** True when a test mapped names ({@link #withTestName}). */
  public boolean hasTestNames() {
    return !testNames.isEmpty();
  }

  /** This policy, also telling {@code listener} of every refused connection. */
  public AddressPolicy onRefusal(Consumer<Refusal> listener) {
    Objects.requireNonNull(listener, "listener");
    Consumer<Refusal> before = this.listener;
    return new AddressPolicy(enforced, exempt, testNames, testClasses, before.andThen(listener));
  }

  /** For tests: resolve the made-up {@code name} to {@code addresses} (loopback ones). */
  public AddressPolicy withTestName(String name, InetAddress... addresses) {
    if (addresses.length == 0) {
      throw new IllegalArgumentException("a test name needs an address");
    }
    Map<String, InetAddress[]> names = new HashMap<>(testNames);
    names.put(HostPattern.normalize(name), addresses.clone());
    return new AddressPolicy(enforced, exempt, Map.copyOf(names), testClasses, listener);
  }

  /** For tests: treat {@code address} as being of class {@code c} (e.g. loopback as public). */
  public AddressPolicy withTestClass(InetAddress address, AddressClass c) {
    Map<InetAddress, AddressClass> classes = new HashMap<>(testClasses);
    classes.put(Objects.requireNonNull(address, "address"), Objects.requireNonNull(c, "class"));
    return new AddressPolicy(enforced, exempt, testNames, Map.copyOf(classes), listener);
  }

  @Override
  public String toString() {
    if (!enforced) {
      return "any address";
    }
    return "public addresses only" + (exempt.isEmpty() ? "" : ", any address for " + exempt);
  }

  // --- classification --------------------------------------------------------------------------

  /** The class of an address by its bytes alone (no look-up, no socket). */
  public static AddressClass classOf(InetAddress address) {
    byte[] b = address.getAddress();
    return b.length == 4 ? classOf4(b, 0) : classOf6(b);
  }

  private static AddressClass classOf4(byte[] b, int at) {
    int a0 = b[at] & 0xff;
    int a1 = b[at + 1] & 0xff;
    int a2 = b[at + 2] & 0xff;
    int a3 = b[at + 3] & 0xff;
    if (a0 == 0) {
      return (a1 | a2 | a3) == 0 ? AddressClass.UNSPECIFIED : AddressClass.THIS_NETWORK;
    }
    if (a0 == 127) {
      return AddressClass.LOOPBACK;
    }
    if (a0 == 10 || (a0 == 172 && (a1 & 0xf0) == 16) || (a0 == 192 && a1 == 168)) {
      return AddressClass.PRIVATE;
    }
    if (a0 == 100 && (a1 & 0xc0) == 64) {
      return AddressClass.SHARED;
    }
    if (a0 == 169 && a1 == 254) {
      return AddressClass.LINK_LOCAL;
    }
    if (a0 == 192 && a1 == 0 && a2 == 0) {
      return AddressClass.PROTOCOL_ASSIGNMENTS;
    }
    if ((a0 == 192 && a1 == 0 && a2 == 2)
        || (a0 == 198 && a1 == 51 && a2 == 100)
        || (a0 == 203 && a1 == 0 && a2 == 113)) {
      return AddressClass.DOCUMENTATION;
    }
    if (a0 == 198 && (a1 & 0xfe) == 18) {
      return AddressClass.BENCHMARKING;
    }
    if (a0 == 192 && a1 == 88 && a2 == 99) {
      return AddressClass.TUNNEL;
    }
    if ((a0 & 0xf0) == 224) {
      return AddressClass.MULTICAST;
    }
    if ((a0 & 0xf0) == 240) {
      return AddressClass.RESERVED;
    }
    return AddressClass.PUBLIC;
  }

  private static AddressClass classOf6(byte[] b) {
    if (zero(b, 0, 10)) {
      int w5 = word(b, 10);
      if (w5 == 0xffff) {
        return classOf4(b, 12); // ::ffff:a.b.c.d, IPv4-mapped
      }
      if (w5 == 0 && zero(b, 12, 16)) {
        return AddressClass.UNSPECIFIED; // ::
      }
      if (w5 == 0 && zero(b, 12, 15) && b[15] == 1) {
        return AddressClass.LOOPBACK; // ::1
      }
      if (w5 == 0) {
        return classOf4(
            b, 12); // ::a.b.c.d, IPv4-compatible (deprecated, still routed by some stacks)
      }
    }
    if (zero(b, 0, 8) && word(b, 8) == 0xffff && word(b, 10) == 0) {
      return classOf4(b, 12); // ::ffff:0:a.b.c.d, IPv4-translated (SIIT)
    }
    int w0 = word(b, 0);
    int w1 = word(b, 2);
    if (w0 == 0x0064 && w1 == 0xff9b) {
      if (zero(b, 4, 12)) {
        return classOf4(b, 12); // 64:ff9b::/96, well-known NAT64: the IPv4 host it reaches
      }
      if (word(b, 4) == 1) {
        return AddressClass.TUNNEL; // 64:ff9b:1::/48, local-use NAT64: any embedding
      }
    }
    if (w0 == 0x2002) {
      return classOf4(b, 2); // 6to4: the IPv4 address of the gateway
    }
    if (w0 == 0x2001 && w1 == 0) {
      return AddressClass.TUNNEL; // Teredo
    }
    if (w0 == 0x2001 && w1 == 0x0db8) {
      return AddressClass.DOCUMENTATION;
    }
    if ((w0 & 0xff00) == 0xff00) {
      return AddressClass.MULTICAST;
    }
    if ((w0 & 0xffc0) == 0xfe80) {
      return AddressClass.LINK_LOCAL;
    }
    if ((w0 & 0xffc0) == 0xfec0) {
      return AddressClass.SITE_LOCAL;
    }
    if ((w0 & 0xfe00) == 0xfc00) {
      return AddressClass.UNIQUE_LOCAL;
    }
    if ((w0 & 0xe000) != 0x2000) {
      return AddressClass.RESERVED; // outside 2000::/3, global unicast (e.g. 100::/64, discard)
    }
    return AddressClass.PUBLIC;
  }

  private static boolean zero(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static int word(byte[] b, int at) {
    return ((b[at] & 0xff) << 8) | (b[at + 1] & 0xff);
  }
}
