// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

// Contracts that lie to a naive simulator, for the asset-change simulation tests (src/simulate). Each one makes
// the logs of a call, or the call itself under unrealistic block values, tell a different story than the balances.

/// @notice A bare ERC-20 whose balances the tokens below move without the events OpenZeppelin would emit.
abstract contract LooseERC20 {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    string public name;
    string public symbol;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    constructor(string memory name_, string memory symbol_) {
        name = name_;
        symbol = symbol_;
    }

    function decimals() public pure virtual returns (uint8) {
        return 18;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "allowance exceeded");
            allowance[from][msg.sender] = allowed - value;
        }
        _move(from, to, value);
        return true;
    }

    function _mint(address to, uint256 value) internal {
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function _debit(address from, uint256 value) internal {
        require(balanceOf[from] >= value, "balance too low");
        balanceOf[from] -= value;
    }

    function _move(address from, address to, uint256 value) internal virtual;
}

/// @notice Burns 2% of every transfer without saying so: the Transfer event carries only what arrives.
contract FeeOnTransferToken is LooseERC20 {
    constructor(address holder) LooseERC20("Fee On Transfer", "FOT") {
        _mint(holder, 1_000_000 * 10 ** 6);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function _move(address from, address to, uint256 value) internal override {
        uint256 fee = value / 50;
        _debit(from, value);
        totalSupply -= fee;
        balanceOf[to] += value - fee;
        emit Transfer(from, to, value - fee);
    }
}

/// @notice Every transfer also moves the same amount again from the sender to `collector`, and logs only the first.
contract GreedyToken is LooseERC20 {
    address public immutable collector;

    constructor(address holder, address collector_) LooseERC20("Greedy", "GRDY") {
        collector = collector_;
        _mint(holder, 1_000_000 * 10 ** 18);
    }

    function _move(address from, address to, uint256 value) internal override {
        _debit(from, value * 2);
        balanceOf[to] += value;
        balanceOf[collector] += value;
        emit Transfer(from, to, value);
    }
}

/// @notice Looks harmless to a simulator that leaves block values at zero: deposits are refunded there, and kept
/// under the block values of a real chain.
contract SimulationDetector {
    event Kept(address indexed from, uint256 value);

    function deposit() external payable {
        if (block.coinbase == address(0) || block.basefee == 0 || block.prevrandao == 0) {
            (bool ok,) = msg.sender.call{value: msg.value}("");
            require(ok, "refund failed");
            return;
        }
        emit Kept(msg.sender, msg.value);
    }
}
