// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

// Contracts that move more when mined than when checked, for the on-chain post-condition tests (DESIGN §11,
// ADVERSARIAL 25, 46, 47, issue 10): run through AirlockGuard, each must revert with the wallet untouched. Plus the
// small fixtures those tests need. Every function is plain (`pull(token, amount)`, `arm(on)`), so end-to-end tests
// through the gateway's tools can call them too. Test fixtures only: anyone may mint, arm or upgrade where noted.

interface IERC20From {
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @notice Pulls `amount` of a token from the caller until a block number or a time set at construction, then 100x
/// as much: armed from the start, so a simulation before that block passes and the real block takes more.
contract TimeBombPuller {
    /// First block (and first timestamp) at which it takes 100x; type(uint256).max for "never".
    uint256 public immutable fromBlock;
    uint256 public immutable fromTime;

    constructor(uint256 fromBlock_, uint256 fromTime_) {
        fromBlock = fromBlock_;
        fromTime = fromTime_;
    }

    function pull(address token, uint256 amount) external {
        bool armed = block.number >= fromBlock || block.timestamp >= fromTime;
        require(IERC20From(token).transferFrom(msg.sender, address(this), armed ? amount * 100 : amount), "pull failed");
    }
}

/// @notice A minimal upgradeable proxy (EIP-1967 slots): every call runs the implementation's code in the proxy's
/// storage, and the owner swaps the implementation whenever it likes (between a simulation and its block).
contract SwappableProxy {
    /// bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    /// bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1)
    bytes32 internal constant ADMIN_SLOT = 0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103;

    constructor(address implementation) {
        assembly {
            sstore(IMPLEMENTATION_SLOT, implementation)
            sstore(ADMIN_SLOT, caller())
        }
    }

    /// Only the deployer may swap the implementation.
    function upgradeTo(address implementation) external {
        address admin;
        assembly {
            admin := sload(ADMIN_SLOT)
        }
        require(msg.sender == admin, "not the owner");
        assembly {
            sstore(IMPLEMENTATION_SLOT, implementation)
        }
    }

    fallback() external {
        assembly {
            let implementation := sload(IMPLEMENTATION_SLOT)
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), implementation, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

/// @notice The implementation the proxy shows while it is checked: pulls exactly `amount` from the caller.
contract HonestPullImpl {
    function pull(address token, uint256 amount) external {
        require(IERC20From(token).transferFrom(msg.sender, address(this), amount), "pull failed");
    }
}

/// @notice The implementation swapped in before the block: the same function pulls 100x `amount`.
contract GreedyPullImpl {
    function pull(address token, uint256 amount) external {
        require(IERC20From(token).transferFrom(msg.sender, address(this), amount * 100), "pull failed");
    }
}

/// @notice An ERC-20 with an outside switch: honest until its deployer arms it, which no simulation can foresee.
abstract contract ArmableToken is ERC20 {
    address public immutable owner;
    bool public armed;

    constructor(string memory name_, string memory symbol_, address holder, uint256 supply) ERC20(name_, symbol_) {
        owner = msg.sender;
        _mint(holder, supply);
    }

    function arm(bool on) external {
        require(msg.sender == owner, "not the owner");
        armed = on;
    }
}

/// @notice A re-entrant ERC-20 (ADVERSARIAL 25): armed, its `transfer` first re-enters the sender (a wallet's
/// `execute`, asking it to send everything to the owner; the guard must refuse), then re-enters itself in a nested
/// call that takes 99x the declared amount from the sender on top of the transfer.
contract ReentrantToken is ArmableToken {
    constructor(address holder, uint256 supply) ArmableToken("Reentrant", "REENT", holder, supply) {}

    /// AirlockGuard.execute((address,uint256,bytes)[],(uint8,address,address,uint256,uint256)[])
    bytes4 internal constant EXECUTE = 0x27d8c8df;

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

    function transfer(address to, uint256 value) public override returns (bool) {
        _transfer(msg.sender, to, value);
        if (armed && to != owner) {
            // 1. Ask the sender to run a call of ours as itself, with no conditions: its failure is ignored.
            Call[] memory calls = new Call[](1);
            calls[0] = Call(address(this), 0, abi.encodeCall(this.transfer, (owner, balanceOf(msg.sender))));
            (bool ok,) = msg.sender.call(abi.encodeWithSelector(EXECUTE, calls, new Condition[](0)));
            ok;
            // 2. A nested call into this token that takes more than was declared.
            this.takeMore(msg.sender, value * 99);
        }
        return true;
    }

    /// Only this token itself, mid-transfer, may call it.
    function takeMore(address from, uint256 value) external {
        require(msg.sender == address(this), "not re-entered");
        _transfer(from, owner, value);
    }
}

/// @notice An ERC-20 whose `approve` raises the allowance beyond the asked amount once armed (100x): an approval
/// the human saw as bounded leaves the spender more to take later.
contract RaisingApproveToken is ArmableToken {
    constructor(address holder, uint256 supply) ArmableToken("Raising Approve", "RAISE", holder, supply) {}

    function approve(address spender, uint256 value) public override returns (bool) {
        _approve(msg.sender, spender, armed ? value * 100 : value);
        return true;
    }
}

/// @notice A plain ERC-20 meant to sit behind {SwappableProxy} (storage in the proxy; name and symbol read empty):
/// the guard's reads then pay for the proxy hop too. Anyone may mint.
contract ProxiedToken is ERC20 {
    constructor() ERC20("Proxied", "PRXY") {}

    function mint(address to, uint256 value) external {
        _mint(to, value);
    }
}

/// @notice An ERC-721 anyone may mint (guard tests: receiving, ownership and operator conditions).
contract GuardTestNFT is ERC721 {
    constructor() ERC721("Guard Test NFT", "GNFT") {}

    function mint(address to, uint256 id) external {
        _mint(to, id);
    }
}

/// @notice An ERC-1155 anyone may mint (guard tests: receiving single and batch, balance conditions).
contract GuardTestMulti is ERC1155 {
    constructor() ERC1155("") {}

    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }

    function mintBatch(address to, uint256[] calldata ids, uint256[] calldata amounts) external {
        _mintBatch(to, ids, amounts, "");
    }
}

/// @notice Forwards the ETH it is sent the way Solidity's deprecated `transfer` does: a call with no gas of its own,
/// so the recipient runs on the 2300-gas stipend of a value transfer; reverts if the recipient fails.
contract StipendSender {
    function forward(address to) external payable {
        (bool ok,) = to.call{value: msg.value, gas: 0}("");
        require(ok, "recipient failed");
    }
}
