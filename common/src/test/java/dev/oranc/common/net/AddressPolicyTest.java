package dev.oranc.common.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oranc.common.net.AddressPolicy.AddressClass;
import io.netty.util.NetUtil;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Address classification, with addresses as values only: bytes made into {@link InetAddress}es,
 * never looked up and never connected to.
 */
class AddressPolicyTest {

  /** An address from its text, without a look-up; IPv6 text stays IPv6 (even ::ffff:a.b.c.d). */
  static InetAddress address(String text) {
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(text);
    if (bytes == null) {
      throw new IllegalArgumentException(text);
    }
    try {
      return bytes.length == 16
          ? Inet6Address.getByAddress(null, bytes, -1)
          : InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  @ParameterizedTest(name = "{0} is {1}")
  @CsvSource({
    "0.0.0.0, UNSPECIFIED",
    "0.1.2.3, THIS_NETWORK",
    "127.0.0.1, LOOPBACK",
    "127.255.255.254, LOOPBACK",
    "10.0.0.1, PRIVATE",
    "10.255.255.255, PRIVATE",
    "172.16.0.1, PRIVATE",
    "172.31.255.255, PRIVATE",
    "192.168.1.1, PRIVATE",
    "100.64.0.1, SHARED",
    "100.127.255.255, SHARED",
    "169.254.169.254, LINK_LOCAL",
    "192.0.0.8, PROTOCOL_ASSIGNMENTS",
    "192.0.0.170, PROTOCOL_ASSIGNMENTS",
    "192.0.2.1, DOCUMENTATION",
    "198.51.100.1, DOCUMENTATION",
    "203.0.113.1, DOCUMENTATION",
    "198.18.0.1, BENCHMARKING",
    "198.19.255.255, BENCHMARKING",
    "192.88.99.1, TUNNEL",
    "224.0.0.1, MULTICAST",
    "239.255.255.250, MULTICAST",
    "240.0.0.1, RESERVED",
    "255.255.255.255, RESERVED",
    "::, UNSPECIFIED",
    "::1, LOOPBACK",
    "fe80::1, LINK_LOCAL",
    "febf::1, LINK_LOCAL",
    "fec0::1, SITE_LOCAL",
    "fc00::1, UNIQUE_LOCAL",
    "fd12:3456::1, UNIQUE_LOCAL",
    "ff02::1, MULTICAST",
    "100::1, RESERVED",
    "2001:db8::1, DOCUMENTATION",
    "2001:0:4136:e378::1, TUNNEL",
    "64:ff9b:1::a00:1, TUNNEL",
    "4000::1, RESERVED",
  })
  void everyNonPublicRangeHasItsClass(String text, AddressClass expected) {
    assertEquals(expected, AddressPolicy.classOf(address(text)), text);
    assertFalse(expected.isPublic());
  }

  @ParameterizedTest(name = "{0} is {1}")
  @CsvSource({
    // IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64 and 6to4: classified by the IPv4
    // address they carry.
    "::ffff:127.0.0.1, LOOPBACK",
    "::ffff:10.1.2.3, PRIVATE",
    "::ffff:169.254.169.254, LINK_LOCAL",
    "::ffff:100.64.0.1, SHARED",
    "::ffff:0.0.0.0, UNSPECIFIED",
    "::ffff:224.0.0.1, MULTICAST",
    "::ffff:255.255.255.255, RESERVED",
    "::127.0.0.1, LOOPBACK",
    "::10.0.0.1, PRIVATE",
    "::169.254.169.254, LINK_LOCAL",
    "::0.0.0.2, THIS_NETWORK",
    "::ffff:0:c0a8:1, PRIVATE", // ::ffff:0:192.168.0.1,
    "64:ff9b::7f00:1, LOOPBACK", // 64:ff9b::127.0.0.1,
    "64:ff9b::a9fe:a9fe, LINK_LOCAL", // 64:ff9b::169.254.169.254,
    "2002:7f00:1::1, LOOPBACK",
    "2002:a9fe:a9fe::1, LINK_LOCAL",
    "2002:c0a8:101::1, PRIVATE",
  })
  void embeddedIpv4AddressesAreClassifiedByWhatTheyCarry(String text, AddressClass expected) {
    InetAddress a = address(text);
    assertEquals(16, a.getAddress().length, "an IPv6 value");
    assertEquals(expected, AddressPolicy.classOf(a), text);
  }

  @ParameterizedTest
  @CsvSource({
    "1.1.1.1",
    "8.8.8.8",
    "140.82.112.34",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.167.255.255",
    "192.169.0.0",
    "169.253.255.255",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.255",
    "2606:4700::1111",
    "2a00:1450::1",
    "::ffff:1.1.1.1",
    "64:ff9b::808:808",
    "2002:808:808::1",
  })
  void publicAddressesArePublic(String text) {
    assertEquals(AddressClass.PUBLIC, AddressPolicy.classOf(address(text)), text);
  }

  @Test
  void allowAllPermitsEverything() {
    AddressPolicy p = AddressPolicy.allowAll();
    assertFalse(p.enforced());
    assertEquals(Optional.empty(), p.check("anything", 80, address("127.0.0.1")));
    assertEquals(Optional.empty(), p.check("anything", 80, address("169.254.169.254")));
  }

  @Test
  void publicOnlyRefusesInternalAddressesExceptForExplicitHosts() {
    List<AddressPolicy.Refusal> seen = new ArrayList<>();
    AddressPolicy p =
        AddressPolicy.publicOnly(
                List.of(HostPattern.parse("127.0.0.1:5000"), HostPattern.parse("*.corp.example")))
            .onRefusal(seen::add);
    assertTrue(p.enforced());
    Optional<AddressPolicy.Refusal> r = p.check("metadata.test", 80, address("169.254.169.254"));
    assertTrue(r.isPresent());
    assertEquals(
        new AddressPolicy.Refusal(
            "metadata.test", 80, address("169.254.169.254"), AddressClass.LINK_LOCAL),
        r.get());
    assertEquals(Optional.empty(), p.check("public.test", 443, address("1.1.1.1")));
    assertEquals(
        Optional.empty(), p.check("127.0.0.1", 5000, address("127.0.0.1")), "named explicitly");
    assertTrue(p.check("127.0.0.1", 5001, address("127.0.0.1")).isPresent(), "another port");
    assertTrue(
        p.check("registry.corp.example", 443, address("10.0.0.1")).isPresent(),
        "a wildcard serves a registry but does not open internal addresses");
    assertTrue(seen.isEmpty(), "check only asks");
    p.refused(r.get());
    assertEquals(List.of(r.get()), seen);
  }

  @Test
  void testHooksMapNamesAndOverrideClasses() {
    InetAddress loopback = address("127.0.0.1");
    AddressPolicy p = AddressPolicy.publicOnly(List.of());
    assertFalse(p.hasTestNames());
    assertNull(p.testLookup("registry.test"));
    AddressPolicy mapped = p.withTestName("Registry.Test.", loopback);
    assertTrue(mapped.hasTestNames());
    assertArrayEquals(new InetAddress[] {loopback}, mapped.testLookup("registry.test"));
    assertEquals(AddressClass.LOOPBACK, mapped.classify(loopback));
    assertTrue(mapped.check("registry.test", 80, loopback).isPresent());
    AddressPolicy asPublic = mapped.withTestClass(loopback, AddressClass.PUBLIC);
    assertEquals(Optional.empty(), asPublic.check("registry.test", 80, loopback));
    AddressPolicy asPrivate = asPublic.withTestClass(loopback, AddressClass.PRIVATE);
    assertEquals(
        AddressClass.PRIVATE,
        asPrivate.check("registry.test", 80, loopback).orElseThrow().addressClass());
    assertEquals(
        AddressClass.LOOPBACK, AddressPolicy.classOf(loopback), "classOf ignores the hooks");
  }
}
