// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title Airlock's on-chain post-condition guard (DESIGN §11)
/// @notice The gateway wallet delegates its code to this contract with EIP-7702 and sends every guarded write to
/// itself as `execute(calls, conditions)`: the calls run with the wallet as `msg.sender`, then every condition is
/// checked against what the calls did, and the whole transaction reverts with `ConditionFailed` if one fails. So a
/// contract that moves more when mined than when simulated, or than the policy or a human approved, moves nothing.
///
/// What it enforces, per condition (`kind`):
///   0 NATIVE_MAX_OUTFLOW    the wallet's own ETH leaves by at most `amount` (gas is paid before execution, so it
///                           is not counted)
///   1 TOKEN_MAX_OUTFLOW     `token.balanceOf(wallet)` drops by at most `amount` (ERC-20; ERC-721 counts NFTs)
///   2 TOKEN_MIN_INFLOW      `token.balanceOf(wallet)` rises by at least `amount`
///   3 MAX_ALLOWANCE         `token.allowance(wallet, spender)` is at most `amount` afterwards
///   4 MULTI_MAX_OUTFLOW     `token.balanceOf(wallet, id)` drops by at most `amount` (ERC-1155)
///   5 MULTI_MIN_INFLOW      `token.balanceOf(wallet, id)` rises by at least `amount` (ERC-1155)
///   6 NFT_OWNED             `token.ownerOf(id)` is the wallet afterwards (ERC-721)
///   7 NO_OPERATOR           `token.isApprovedForAll(wallet, spender)` is false afterwards (ERC-721/1155)
///
/// It holds no state: run as the wallet's delegated code it reads and writes no storage, so nobody (the wallet
/// included) can change how it judges. Only the wallet itself may call `execute`; a call from anyone else, or a
/// call to this contract's own address, reverts with `NotWallet`. Otherwise it behaves like an EOA: it takes ETH,
/// ERC-721 and ERC-1155 tokens, accepts any other call without effect, and answers ERC-1271 for signatures made by
/// the wallet's own key (contracts that check a signature through the signer's code keep working).
contract AirlockGuard {
    struct Call {
        address target;
        uint256 value;
        bytes data;
    }

    struct Condition {
        uint8 kind;
        address token;
        address spender;
        uint256 id;
        uint256 amount;
    }

    /// `execute` was called by someone other than the delegating wallet itself.
    error NotWallet();
    /// Condition `index` failed: `bound` is its limit, `actual` what the calls did (an outflow, an inflow, an
    /// allowance, an owner as a number, or 1 for an operator still approved).
    error ConditionFailed(uint256 index, uint8 kind, address token, uint256 bound, uint256 actual);
    /// Condition `index` could not read its token (no such function, a revert, a short answer): fail closed.
    error Unreadable(uint256 index, address token);
    /// Condition `index` has a kind this guard does not know.
    error UnknownCondition(uint256 index, uint8 kind);

    uint8 internal constant NATIVE_MAX_OUTFLOW = 0;
    uint8 internal constant TOKEN_MAX_OUTFLOW = 1;
    uint8 internal constant TOKEN_MIN_INFLOW = 2;
    uint8 internal constant MAX_ALLOWANCE = 3;
    uint8 internal constant MULTI_MAX_OUTFLOW = 4;
    uint8 internal constant MULTI_MIN_INFLOW = 5;
    uint8 internal constant NFT_OWNED = 6;
    uint8 internal constant NO_OPERATOR = 7;

    /// @notice Runs `calls` in order as the wallet, then checks `conditions`; reverts if any call or condition fails
    /// (a failing call's own revert data is passed on unchanged).
    function execute(Call[] calldata calls, Condition[] calldata conditions) external {
        if (msg.sender != address(this)) revert NotWallet();
        uint256 n = conditions.length;
        uint256[] memory before = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            Condition calldata c = conditions[i];
            if (c.kind <= MULTI_MIN_INFLOW && c.kind != MAX_ALLOWANCE) before[i] = _balance(i, c);
            else if (c.kind > NO_OPERATOR) revert UnknownCondition(i, c.kind);
        }
        for (uint256 i; i < calls.length; ++i) {
            Call calldata call = calls[i];
            bytes calldata data = call.data;
            address target = call.target;
            uint256 value = call.value;
            assembly ("memory-safe") {
                let ptr := mload(0x40)
                calldatacopy(ptr, data.offset, data.length)
                if iszero(call(gas(), target, value, ptr, data.length, 0, 0)) {
                    returndatacopy(ptr, 0, returndatasize())
                    revert(ptr, returndatasize())
                }
            }
        }
        for (uint256 i; i < n; ++i) {
            Condition calldata c = conditions[i];
            uint8 kind = c.kind;
            if (kind == MAX_ALLOWANCE) {
                uint256 left = _read(i, c.token, abi.encodeWithSelector(0xdd62ed3e, address(this), c.spender));
                if (left > c.amount) revert ConditionFailed(i, kind, c.token, c.amount, left);
            } else if (kind == NFT_OWNED) {
                uint256 owner = _read(i, c.token, abi.encodeWithSelector(0x6352211e, c.id));
                if (owner != uint256(uint160(address(this)))) revert ConditionFailed(i, kind, c.token, c.id, owner);
            } else if (kind == NO_OPERATOR) {
                uint256 approved = _read(i, c.token, abi.encodeWithSelector(0xe985e9c5, address(this), c.spender));
                if (approved != 0) revert ConditionFailed(i, kind, c.token, 0, approved);
            } else {
                uint256 was = before[i];
                uint256 now_ = _balance(i, c);
                if (kind == TOKEN_MIN_INFLOW || kind == MULTI_MIN_INFLOW) {
                    uint256 inflow = now_ > was ? now_ - was : 0;
                    if (inflow < c.amount) revert ConditionFailed(i, kind, c.token, c.amount, inflow);
                } else {
                    uint256 outflow = was > now_ ? was - now_ : 0;
                    if (outflow > c.amount) revert ConditionFailed(i, kind, c.token, c.amount, outflow);
                }
            }
        }
    }

    /// The wallet's balance a condition watches: ETH, `balanceOf(wallet)` or `balanceOf(wallet, id)`.
    function _balance(uint256 i, Condition calldata c) internal view returns (uint256) {
        if (c.kind == NATIVE_MAX_OUTFLOW) return address(this).balance;
        if (c.kind == MULTI_MAX_OUTFLOW || c.kind == MULTI_MIN_INFLOW)
            return _read(i, c.token, abi.encodeWithSelector(0x00fdd58e, address(this), c.id));
        return _read(i, c.token, abi.encodeWithSelector(0x70a08231, address(this)));
    }

    /// One word from a view call to `token`; reverts `Unreadable` when there is none.
    function _read(uint256 i, address token, bytes memory data) internal view returns (uint256 word) {
        bool ok;
        uint256 size;
        assembly ("memory-safe") {
            ok := staticcall(gas(), token, add(data, 0x20), mload(data), 0, 0x20)
            size := returndatasize()
            word := mload(0)
        }
        if (!ok || size < 0x20) revert Unreadable(i, token);
    }

    /// @notice ERC-1271: valid when the wallet's own key signed `hash` (65-byte r, s, v; low s).
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length == 65) {
            bytes32 r = bytes32(signature[0:32]);
            bytes32 s = bytes32(signature[32:64]);
            uint8 v = uint8(signature[64]);
            if (
                uint256(s) <= 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0 &&
                ecrecover(hash, v, r, s) == address(this)
            ) return 0x1626ba7e;
        }
        return 0xffffffff;
    }

    function onERC721Received(address, address, uint256, bytes calldata) external pure returns (bytes4) {
        return 0x150b7a02;
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return 0xf23a6e61;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return 0xbc197c81;
    }

    /// @notice ERC-165: ERC-165 itself, ERC-721 and ERC-1155 receiving, ERC-1271.
    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == 0x01ffc9a7 || id == 0x150b7a02 || id == 0x4e2312e0 || id == 0x1626ba7e;
    }

    receive() external payable {}

    fallback() external payable {}
}
