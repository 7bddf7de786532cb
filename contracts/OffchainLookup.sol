// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title EIP-3668 (CCIP-Read) reader, for tests
/// @notice Every read reverts with `OffchainLookup`, naming the gateway URL given at deployment: a client that follows
/// off-chain lookups fetches that URL and calls back with its answer. `balanceOf` is a plain contract read (it must
/// never be followed); `resolveWithGateways` has the ENS Universal Resolver's shape, so ENS resolution through it
/// goes to the gateway (only through the SSRF guard).
contract OffchainLookupReader {
    error OffchainLookup(address sender, string[] urls, bytes callData, bytes4 callbackFunction, bytes extraData);

    string public gatewayUrl;

    constructor(string memory gatewayUrl_) {
        gatewayUrl = gatewayUrl_;
    }

    /// @notice Reverts with an off-chain lookup; the gateway's answer is the balance.
    function balanceOf(address owner) external view returns (uint256) {
        revert OffchainLookup(address(this), _urls(), abi.encode(owner), this.balanceOfCallback.selector, "");
    }

    /// @notice The callback: the gateway's answer, decoded as a uint256.
    function balanceOfCallback(bytes calldata response, bytes calldata) external pure returns (uint256) {
        return abi.decode(response, (uint256));
    }

    /// @notice ENS Universal Resolver shape: the resolver call `data` is answered off-chain.
    function resolveWithGateways(bytes calldata, bytes calldata data, string[] calldata)
        external
        view
        returns (bytes memory, address)
    {
        revert OffchainLookup(address(this), _urls(), data, this.resolveCallback.selector, "");
    }

    /// @notice The callback: the gateway's answer is the resolver's ABI-encoded result.
    function resolveCallback(bytes calldata response, bytes calldata) external view returns (bytes memory, address) {
        return (response, address(this));
    }

    function _urls() private view returns (string[] memory urls) {
        urls = new string[](1);
        urls[0] = gatewayUrl;
    }
}
