// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

interface IENSRegistryView {
    function resolver(bytes32 node) external view returns (address);
}

/// @title Devnet ENS Universal Resolver
/// @notice The subset of the ENS Universal Resolver that viem's getEnsAddress, getEnsName, getEnsText and
/// getEnsAvatar call: `resolveWithGateways` (forward) and `reverseWithGateways` (primary name with forward
/// verification), with the custom errors viem maps to a `null` result. Resolution is on-chain only: the
/// gateway list is accepted and ignored, and no CCIP-Read (EIP-3668) is performed.
contract UniversalResolver {
    error DNSDecodingFailed(bytes dns);
    error DNSEncodingFailed(string ens);
    error EmptyAddress();
    error ResolverError(bytes errorData);
    error ResolverNotContract(bytes name, address resolver);
    error ResolverNotFound(bytes name);
    error ReverseAddressMismatch(string primary, bytes primaryAddress);
    error UnsupportedResolverProfile(bytes4 selector);

    /// @dev ENSIP-10 `resolve(bytes,bytes)`.
    bytes4 private constant EXTENDED_RESOLVER = 0x9061b923;
    bytes4 private constant ADDR = 0x3b3b57de; // addr(bytes32)
    bytes4 private constant ADDR_COIN = 0xf1cb7e06; // addr(bytes32,uint256)
    bytes4 private constant NAME = 0x691f3431; // name(bytes32)
    bytes16 private constant HEX = "0123456789abcdef";

    IENSRegistryView public immutable registry;

    constructor(address registry_) {
        registry = IENSRegistryView(registry_);
    }

    /// @notice Resolves `data` (a resolver call such as addr(node) or text(node,key)) for the DNS-encoded `name`.
    /// @return result The resolver's ABI-encoded answer.
    /// @return resolver The resolver that answered.
    function resolveWithGateways(bytes calldata name, bytes calldata data, string[] calldata)
        external
        view
        returns (bytes memory result, address resolver)
    {
        return _resolve(name, data);
    }

    /// @notice Same as {resolveWithGateways} without a gateway list.
    function resolve(bytes calldata name, bytes calldata data)
        external
        view
        returns (bytes memory result, address resolver)
    {
        return _resolve(name, data);
    }

    /// @notice Primary name of `lookupAddress` for `coinType`, verified by resolving it forward.
    /// @return primary The name, or "" when none is set.
    /// @return resolver The resolver of the primary name.
    /// @return reverseResolver The resolver of the reverse record.
    function reverseWithGateways(bytes calldata lookupAddress, uint256 coinType, string[] calldata)
        external
        view
        returns (string memory primary, address resolver, address reverseResolver)
    {
        return _reverse(lookupAddress, coinType);
    }

    /// @notice Same as {reverseWithGateways} without a gateway list.
    function reverse(bytes calldata lookupAddress, uint256 coinType)
        external
        view
        returns (string memory primary, address resolver, address reverseResolver)
    {
        return _reverse(lookupAddress, coinType);
    }

    /// @notice The resolver for a DNS-encoded name, walking up to its parents (ENSIP-10).
    /// @return resolver The first resolver found, or address(0).
    /// @return node The namehash of the full name.
    /// @return offset The byte offset in `name` of the name that holds the resolver.
    function findResolver(bytes memory name) public view returns (address resolver, bytes32 node, uint256 offset) {
        uint256[] memory starts = new uint256[](name.length);
        uint256 count;
        uint256 i;
        while (true) {
            if (i >= name.length) revert DNSDecodingFailed(name);
            uint256 len = uint8(name[i]);
            if (len == 0) break;
            starts[count++] = i;
            i += 1 + len;
        }
        if (i != name.length - 1) revert DNSDecodingFailed(name);

        bytes32[] memory nodes = new bytes32[](count + 1);
        for (uint256 k = count; k > 0; k--) {
            nodes[k - 1] = keccak256(abi.encodePacked(nodes[k], _labelHash(name, starts[k - 1])));
        }
        node = nodes[0];
        for (uint256 k = 0; k <= count; k++) {
            resolver = registry.resolver(nodes[k]);
            if (resolver != address(0)) {
                return (resolver, node, k == count ? name.length - 1 : starts[k]);
            }
        }
        return (address(0), node, 0);
    }

    function _resolve(bytes memory name, bytes memory data) internal view returns (bytes memory, address) {
        (address resolver,, uint256 offset) = findResolver(name);
        if (resolver == address(0)) revert ResolverNotFound(name);
        if (resolver.code.length == 0) revert ResolverNotContract(name, resolver);
        bool extended = _supportsInterface(resolver, EXTENDED_RESOLVER);
        // A resolver inherited from a parent only answers for subnames if it is an extended resolver.
        if (offset != 0 && !extended) revert ResolverNotFound(name);

        bool ok;
        bytes memory ret;
        if (extended) {
            (ok, ret) = resolver.staticcall(abi.encodeWithSelector(EXTENDED_RESOLVER, name, data));
            if (ok) ret = abi.decode(ret, (bytes));
        } else {
            (ok, ret) = resolver.staticcall(data);
        }
        if (!ok) revert ResolverError(ret);
        if (ret.length == 0) revert UnsupportedResolverProfile(bytes4(data));
        return (ret, resolver);
    }

    function _reverse(bytes calldata lookupAddress, uint256 coinType)
        internal
        view
        returns (string memory primary, address resolver, address reverseResolver)
    {
        if (lookupAddress.length == 0) revert EmptyAddress();
        // ENSIP-19 reverse names: <hex address>.addr.reverse for coin type 60, <hex address>.<hex coin>.reverse else.
        bytes memory namespace = coinType == 60 ? bytes("addr") : _hex(abi.encodePacked(coinType), true);
        bytes memory reverseName = abi.encodePacked(
            uint8(lookupAddress.length * 2),
            _hex(lookupAddress, false),
            uint8(namespace.length),
            namespace,
            uint8(7),
            "reverse",
            uint8(0)
        );
        (, bytes32 reverseNode,) = findResolver(reverseName);
        bytes memory nameResult;
        (nameResult, reverseResolver) = _resolve(reverseName, abi.encodeWithSelector(NAME, reverseNode));
        primary = abi.decode(nameResult, (string));
        if (bytes(primary).length == 0) return ("", address(0), reverseResolver);

        bytes memory dnsName = _dnsEncode(primary);
        (, bytes32 node,) = findResolver(dnsName);
        bytes memory addrResult;
        if (coinType == 60) {
            (addrResult, resolver) = _resolve(dnsName, abi.encodeWithSelector(ADDR, node));
            address resolved = abi.decode(addrResult, (address));
            if (lookupAddress.length != 20 || resolved != address(bytes20(lookupAddress))) {
                revert ReverseAddressMismatch(primary, abi.encodePacked(resolved));
            }
        } else {
            (addrResult, resolver) = _resolve(dnsName, abi.encodeWithSelector(ADDR_COIN, node, coinType));
            bytes memory resolved = abi.decode(addrResult, (bytes));
            if (keccak256(resolved) != keccak256(lookupAddress)) revert ReverseAddressMismatch(primary, resolved);
        }
    }

    function _supportsInterface(address target, bytes4 interfaceId) private view returns (bool) {
        (bool ok, bytes memory ret) =
            target.staticcall{gas: 30_000}(abi.encodeWithSelector(0x01ffc9a7, interfaceId));
        return ok && ret.length >= 32 && abi.decode(ret, (bool));
    }

    /// @dev keccak256 of the label at `start`, or the hash itself for an encoded label "[<64 hex digits>]".
    function _labelHash(bytes memory name, uint256 start) private pure returns (bytes32 hash) {
        uint256 len = uint8(name[start]);
        if (len == 66 && name[start + 1] == "[" && name[start + 66] == "]") {
            bool valid = true;
            uint256 value;
            for (uint256 j = 0; j < 64; j++) {
                uint8 c = uint8(name[start + 2 + j]);
                uint8 d;
                if (c >= 48 && c <= 57) d = c - 48;
                else if (c >= 97 && c <= 102) d = c - 87;
                else if (c >= 65 && c <= 70) d = c - 55;
                else {
                    valid = false;
                    break;
                }
                value = (value << 4) | d;
            }
            if (valid) return bytes32(value);
        }
        assembly {
            hash := keccak256(add(add(name, 33), start), len)
        }
    }

    /// @dev "alice.eth" → 0x05 alice 0x03 eth 0x00.
    function _dnsEncode(string memory ens) private pure returns (bytes memory dns) {
        bytes memory s = bytes(ens);
        dns = new bytes(s.length + 2);
        uint256 labelStart;
        for (uint256 i = 0; i <= s.length; i++) {
            if (i == s.length || s[i] == ".") {
                uint256 len = i - labelStart;
                if (len == 0 || len > 255) revert DNSEncodingFailed(ens);
                dns[labelStart] = bytes1(uint8(len));
                for (uint256 j = labelStart; j < i; j++) {
                    dns[j + 1] = s[j];
                }
                labelStart = i + 1;
            }
        }
        dns[s.length + 1] = 0;
    }

    /// @dev Lowercase hex of `data`; with `trimZeros`, leading zero digits are dropped (at least one stays).
    function _hex(bytes memory data, bool trimZeros) private pure returns (bytes memory out) {
        out = new bytes(data.length * 2);
        for (uint256 i = 0; i < data.length; i++) {
            out[2 * i] = HEX[uint8(data[i]) >> 4];
            out[2 * i + 1] = HEX[uint8(data[i]) & 0x0f];
        }
        if (!trimZeros) return out;
        uint256 skip;
        while (skip + 1 < out.length && out[skip] == "0") skip++;
        bytes memory trimmed = new bytes(out.length - skip);
        for (uint256 i = 0; i < trimmed.length; i++) {
            trimmed[i] = out[i + skip];
        }
        return trimmed;
    }
}
