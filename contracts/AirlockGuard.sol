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
///   8 NATIVE_MIN_INFLOW     the wallet's own ETH rises by at least `amount`
///
/// A call that fails reverts the write with `CallFailed(index, its revert data)`: the guard's own errors can only
/// come from the guard. A call to the wallet itself is refused (`CallToWallet`): `execute` does not nest. The checks
/// keep gas of their own, so a call that burns what it is given fails alone, with its reason.
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

    /// The calls ran and every condition held (the wallet emits it: its code is this guard's).
    event Executed();

    /// `execute` was called by someone other than the delegating wallet itself.
    error NotWallet();
    /// Condition `index` failed: `bound` is its limit, `actual` what the calls did (an outflow, an inflow, an
    /// allowance, an owner as a number, or 1 for an operator still approved).
    error ConditionFailed(uint256 index, uint8 kind, address token, uint256 bound, uint256 actual);
    /// Condition `index` could not read its token (no such function, a revert, a short answer): fail closed.
    error Unreadable(uint256 index, address token);
    /// Condition `index` has a kind this guard does not know.
    error UnknownCondition(uint256 index, uint8 kind);
    /// Call `index` reverted with `reason` (its own revert data, unchanged).
    error CallFailed(uint256 index, bytes reason);
    /// Call `index` targets the wallet itself.
    error CallToWallet(uint256 index);

    uint8 internal constant NATIVE_MAX_OUTFLOW = 0;
    uint8 internal constant TOKEN_MAX_OUTFLOW = 1;
    uint8 internal constant TOKEN_MIN_INFLOW = 2;
    uint8 internal constant MAX_ALLOWANCE = 3;
    uint8 internal constant MULTI_MAX_OUTFLOW = 4;
    uint8 internal constant MULTI_MIN_INFLOW = 5;
    uint8 internal constant NFT_OWNED = 6;
    uint8 internal constant NO_OPERATOR = 7;
    uint8 internal constant NATIVE_MIN_INFLOW = 8;

    /// @notice Runs `calls` in order as the wallet, then checks `conditions`; reverts if any call or condition fails
    /// (a failing call's own revert data is passed on unchanged).
    /// @dev Written in assembly because every guarded write pays for it: an ERC-20 transfer with two conditions
    /// costs about 3,300 gas less than the same logic in plain Solidity (bench/guardGas.ts). The ABI decoder has
    /// already checked that both arrays lie within the calldata; what is not re-checked (the offsets inside a call)
    /// can only spoil the wallet's own transaction, as nobody else may call this. Memory only, nothing stored:
    /// `before` holds one word per condition, view calls are built in `request`, a call's data is copied after it.
    function execute(Call[] calldata calls, Condition[] calldata conditions) external {
        if (msg.sender != address(this)) revert NotWallet();
        assembly ("memory-safe") {
            /// One word from the view call at `request` (`size` bytes) to `token`; reverts `Unreadable(i, token)`
            /// when there is none (no code, no such function, a revert, a short answer): fail closed.
            function read(i, token, request, size) -> word {
                let ok := staticcall(gas(), token, request, size, 0, 0x20)
                if iszero(and(ok, gt(returndatasize(), 0x1f))) {
                    mstore(request, shl(224, 0x7d0f6052)) // Unreadable(uint256,address)
                    mstore(add(request, 0x04), i)
                    mstore(add(request, 0x24), token)
                    revert(request, 0x44)
                }
                word := mload(0)
            }

            /// The wallet's balance condition `i` (at `c`) watches: ETH (kinds 0, 8), `balanceOf(wallet)` (kinds 1,
            /// 2) or `balanceOf(wallet, id)` (kinds 4, 5).
            function watched(i, kind, c, request) -> value {
                switch or(iszero(kind), eq(kind, 8))
                case 1 { value := selfbalance() }
                default {
                    // The selector's word first: it clears the bytes after it.
                    switch gt(kind, 3)
                    case 0 {
                        mstore(request, shl(224, 0x70a08231)) // balanceOf(address)
                        mstore(add(request, 0x04), address())
                        value := read(i, calldataload(add(c, 0x20)), request, 0x24)
                    }
                    default {
                        mstore(request, shl(224, 0x00fdd58e)) // balanceOf(address,uint256)
                        mstore(add(request, 0x04), address())
                        mstore(add(request, 0x24), calldataload(add(c, 0x60)))
                        value := read(i, calldataload(add(c, 0x20)), request, 0x44)
                    }
                }
            }

            let n := conditions.length
            let before := mload(0x40)
            let request := add(before, shl(5, n))
            mstore(0x40, add(request, 0x60))

            // 1. Each condition's kind and addresses are checked (a malformed one fails the write), and the
            // balances the balance conditions (kinds 0, 1, 2, 4, 5, 8: bits of 0x137) watch are taken.
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let c := add(conditions.offset, mul(i, 0xa0))
                let kind := calldataload(c)
                if or(shr(160, calldataload(add(c, 0x20))), shr(160, calldataload(add(c, 0x40)))) { revert(0, 0) }
                if gt(kind, 8) {
                    if gt(kind, 0xff) { revert(0, 0) }
                    mstore(request, shl(224, 0xf08372fe)) // UnknownCondition(uint256,uint8)
                    mstore(add(request, 0x04), i)
                    mstore(add(request, 0x24), kind)
                    revert(request, 0x44)
                }
                if and(shr(kind, 0x137), 1) { mstore(add(before, shl(5, i)), watched(i, kind, c, request)) }
            }

            // 2. The calls, in order, as the wallet. Each leaves gas for the checks (two reads per condition); one
            // that fails reverts the write with CallFailed(i, its revert data).
            let reserve := add(10000, mul(n, 12000))
            for { let i := 0 } lt(i, calls.length) { i := add(i, 1) } {
                let call_ := add(calls.offset, calldataload(add(calls.offset, shl(5, i))))
                let target := calldataload(call_)
                if eq(target, address()) {
                    mstore(request, shl(224, 0xa920287b)) // CallToWallet(uint256)
                    mstore(add(request, 0x04), i)
                    revert(request, 0x24)
                }
                let data := add(call_, calldataload(add(call_, 0x40)))
                let size := calldataload(data)
                let m := mload(0x40)
                calldatacopy(m, add(data, 0x20), size)
                let budget := gas()
                if gt(budget, reserve) { budget := sub(budget, reserve) }
                if iszero(call(budget, target, calldataload(add(call_, 0x20)), m, size, 0, 0)) {
                    // CallFailed(uint256 index, bytes reason): selector, index, offset 0x40, length, data.
                    let r := returndatasize()
                    mstore(m, shl(224, 0x5c0dee5d))
                    mstore(add(m, 0x04), i)
                    mstore(add(m, 0x24), 0x40)
                    mstore(add(m, 0x44), r)
                    mstore(add(add(m, 0x64), and(r, not(31))), 0) // the padding after the data: zeros
                    returndatacopy(add(m, 0x64), 0, r)
                    revert(m, add(0x64, and(add(r, 31), not(31))))
                }
            }

            // 3. Each condition against what the calls did; the first that fails reverts
            // ConditionFailed(i, kind, token, bound, actual).
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let c := add(conditions.offset, mul(i, 0xa0))
                let kind := calldataload(c)
                let token := calldataload(add(c, 0x20))
                let bound := calldataload(add(c, 0x80))
                let actual := 0
                let failed := 0
                switch kind
                case 3 {
                    // MAX_ALLOWANCE: allowance(wallet, spender) <= amount
                    mstore(request, shl(224, 0xdd62ed3e))
                    mstore(add(request, 0x04), address())
                    mstore(add(request, 0x24), calldataload(add(c, 0x40)))
                    actual := read(i, token, request, 0x44)
                    failed := gt(actual, bound)
                }
                case 6 {
                    // NFT_OWNED: ownerOf(id) == wallet; the bound reported is the id
                    bound := calldataload(add(c, 0x60))
                    mstore(request, shl(224, 0x6352211e))
                    mstore(add(request, 0x04), bound)
                    actual := read(i, token, request, 0x24)
                    failed := iszero(eq(actual, address()))
                }
                case 7 {
                    // NO_OPERATOR: isApprovedForAll(wallet, spender) is false
                    bound := 0
                    mstore(request, shl(224, 0xe985e9c5))
                    mstore(add(request, 0x04), address())
                    mstore(add(request, 0x24), calldataload(add(c, 0x40)))
                    actual := read(i, token, request, 0x44)
                    failed := iszero(iszero(actual))
                }
                default {
                    let was := mload(add(before, shl(5, i)))
                    let now_ := watched(i, kind, c, request)
                    switch or(or(eq(kind, 2), eq(kind, 5)), eq(kind, 8))
                    case 1 {
                        // TOKEN_MIN_INFLOW, MULTI_MIN_INFLOW, NATIVE_MIN_INFLOW: the rise is at least amount
                        if gt(now_, was) { actual := sub(now_, was) }
                        failed := lt(actual, bound)
                    }
                    default {
                        // NATIVE_MAX_OUTFLOW, TOKEN_MAX_OUTFLOW, MULTI_MAX_OUTFLOW: the drop is at most amount
                        if gt(was, now_) { actual := sub(was, now_) }
                        failed := gt(actual, bound)
                    }
                }
                if failed {
                    mstore(request, shl(224, 0x6865c6fe)) // ConditionFailed(uint256,uint8,address,uint256,uint256)
                    mstore(add(request, 0x04), i)
                    mstore(add(request, 0x24), kind)
                    mstore(add(request, 0x44), token)
                    mstore(add(request, 0x64), bound)
                    mstore(add(request, 0x84), actual)
                    revert(request, 0xa4)
                }
            }

            // 4. Executed(): the receipt shows the guard ran (a wallet no longer delegating would take the same
            // transaction as a plain call to itself that does nothing).
            log1(0, 0, 0x68f46c45a243a0e9065a97649faf9a5afe1692f2679e650c2f853b9cd734cc0e)
        }
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
